-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "AccountStatus" AS ENUM ('OPEN', 'CLOSED');

-- CreateEnum
CREATE TYPE "GrantCategory" AS ENUM ('PAID', 'PROMOTIONAL');

-- CreateEnum
CREATE TYPE "ActionType" AS ENUM ('DEPOSIT', 'REDUCTION', 'TRANSFER', 'EXPIRATION', 'VOID', 'REVERSAL');

-- CreateEnum
CREATE TYPE "InitiatorType" AS ENUM ('USER', 'SYSTEM', 'API_KEY');

-- CreateEnum
CREATE TYPE "EntryDirection" AS ENUM ('CREDIT', 'DEBIT');

-- CreateTable
CREATE TABLE "tenant" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "time_zone" TEXT NOT NULL DEFAULT 'UTC',
    "default_locale" TEXT NOT NULL DEFAULT 'en',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_key" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customer" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "external_id" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "customer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_account" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "balance" BIGINT NOT NULL DEFAULT 0,
    "overdraft_limit" BIGINT NOT NULL DEFAULT 0,
    "status" "AccountStatus" NOT NULL DEFAULT 'OPEN',
    "entry_count" INTEGER NOT NULL DEFAULT 0,
    "closed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "credit_account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_grant" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "name" TEXT,
    "category" "GrantCategory" NOT NULL DEFAULT 'PAID',
    "priority" INTEGER NOT NULL DEFAULT 50,
    "original_amount" BIGINT NOT NULL,
    "remaining_amount" BIGINT NOT NULL,
    "effective_at" TIMESTAMP(3) NOT NULL,
    "expires_at" TIMESTAMP(3),
    "voided_at" TIMESTAMP(3),
    "external_reference" TEXT,
    "created_by_action_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "credit_grant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_action" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "type" "ActionType" NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "source_account_id" TEXT,
    "target_account_id" TEXT,
    "grant_id" TEXT,
    "store_id" TEXT,
    "partner_id" TEXT,
    "initiator_id" TEXT,
    "initiator_type" "InitiatorType" NOT NULL,
    "api_key_id" TEXT,
    "note" TEXT,
    "note_search" TEXT,
    "external_reference" TEXT,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "reverses_action_id" TEXT,
    "effective_at" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "credit_action_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_entry" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "action_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "direction" "EntryDirection" NOT NULL,
    "amount" BIGINT NOT NULL,
    "balance_before" BIGINT NOT NULL,
    "balance_after" BIGINT NOT NULL,
    "type" "ActionType" NOT NULL,
    "currency" TEXT NOT NULL,
    "store_id" TEXT,
    "partner_id" TEXT,
    "initiator_type" "InitiatorType" NOT NULL,
    "effective_at" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "credit_entry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_allocation" (
    "action_id" TEXT NOT NULL,
    "grant_id" TEXT NOT NULL,
    "direction" "EntryDirection" NOT NULL,
    "amount" BIGINT NOT NULL,

    CONSTRAINT "credit_allocation_pkey" PRIMARY KEY ("action_id","grant_id","direction")
);

-- CreateTable
CREATE TABLE "store" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "external_id" TEXT,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "store_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partner" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "external_id" TEXT,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "partner_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_key_secret_hash_key" ON "api_key"("secret_hash");

-- CreateIndex
CREATE INDEX "api_key_tenant_id_idx" ON "api_key"("tenant_id");

-- CreateIndex
CREATE INDEX "customer_tenant_id_created_at_id_idx" ON "customer"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "customer_tenant_id_external_id_key" ON "customer"("tenant_id", "external_id");

-- CreateIndex
CREATE INDEX "credit_account_tenant_id_created_at_id_idx" ON "credit_account"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_account_customer_id_currency_idx" ON "credit_account"("customer_id", "currency");

-- CreateIndex
CREATE INDEX "credit_grant_account_id_remaining_amount_idx" ON "credit_grant"("account_id", "remaining_amount");

-- CreateIndex
CREATE INDEX "credit_grant_account_id_created_at_id_idx" ON "credit_grant"("account_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_grant_expires_at_remaining_amount_idx" ON "credit_grant"("expires_at", "remaining_amount");

-- CreateIndex
CREATE UNIQUE INDEX "credit_action_reverses_action_id_key" ON "credit_action"("reverses_action_id");

-- CreateIndex
CREATE INDEX "credit_action_tenant_id_effective_at_id_idx" ON "credit_action"("tenant_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_action_tenant_id_created_at_id_idx" ON "credit_action"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "credit_action_tenant_id_idempotency_key_key" ON "credit_action"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_effective_at_id_idx" ON "credit_entry"("account_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_created_at_id_idx" ON "credit_entry"("account_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_amount_id_idx" ON "credit_entry"("account_id", "amount", "id");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_type_effective_at_id_idx" ON "credit_entry"("account_id", "type", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_direction_effective_at_id_idx" ON "credit_entry"("account_id", "direction", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_effective_at_id_idx" ON "credit_entry"("customer_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_created_at_id_idx" ON "credit_entry"("customer_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_amount_id_idx" ON "credit_entry"("customer_id", "amount", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_type_effective_at_id_idx" ON "credit_entry"("customer_id", "type", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_direction_effective_at_id_idx" ON "credit_entry"("customer_id", "direction", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_store_id_effective_at_idx" ON "credit_entry"("store_id", "effective_at");

-- CreateIndex
CREATE INDEX "credit_entry_partner_id_effective_at_idx" ON "credit_entry"("partner_id", "effective_at");

-- CreateIndex
CREATE UNIQUE INDEX "credit_entry_account_id_sequence_key" ON "credit_entry"("account_id", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "credit_entry_action_id_account_id_key" ON "credit_entry"("action_id", "account_id");

-- CreateIndex
CREATE INDEX "credit_allocation_grant_id_action_id_idx" ON "credit_allocation"("grant_id", "action_id");

-- CreateIndex
CREATE INDEX "store_tenant_id_created_at_id_idx" ON "store"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "store_tenant_id_external_id_key" ON "store"("tenant_id", "external_id");

-- CreateIndex
CREATE INDEX "partner_tenant_id_created_at_id_idx" ON "partner"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "partner_tenant_id_external_id_key" ON "partner"("tenant_id", "external_id");

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "customer" ADD CONSTRAINT "customer_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_account" ADD CONSTRAINT "credit_account_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_account" ADD CONSTRAINT "credit_account_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_grant" ADD CONSTRAINT "credit_grant_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_grant" ADD CONSTRAINT "credit_grant_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "credit_account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_source_account_id_fkey" FOREIGN KEY ("source_account_id") REFERENCES "credit_account"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_target_account_id_fkey" FOREIGN KEY ("target_account_id") REFERENCES "credit_account"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_grant_id_fkey" FOREIGN KEY ("grant_id") REFERENCES "credit_grant"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "store"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partner"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_key"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_reverses_action_id_fkey" FOREIGN KEY ("reverses_action_id") REFERENCES "credit_action"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_entry" ADD CONSTRAINT "credit_entry_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_entry" ADD CONSTRAINT "credit_entry_action_id_fkey" FOREIGN KEY ("action_id") REFERENCES "credit_action"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_entry" ADD CONSTRAINT "credit_entry_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "credit_account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_entry" ADD CONSTRAINT "credit_entry_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_allocation" ADD CONSTRAINT "credit_allocation_action_id_fkey" FOREIGN KEY ("action_id") REFERENCES "credit_action"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_allocation" ADD CONSTRAINT "credit_allocation_grant_id_fkey" FOREIGN KEY ("grant_id") REFERENCES "credit_grant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "store" ADD CONSTRAINT "store_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "partner" ADD CONSTRAINT "partner_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

