-- Batches: actions applied all or nothing in one transaction. A batch row holds the batch's idempotency key
-- and how many actions it wrote, and its items name those actions in order.

-- CreateTable
CREATE TABLE "credit_batch" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "request_hash" TEXT NOT NULL,
    "item_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_batch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_batch_item" (
    "batch_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "action_id" TEXT NOT NULL,

    CONSTRAINT "credit_batch_item_pkey" PRIMARY KEY ("batch_id","position")
);

-- CreateIndex
CREATE UNIQUE INDEX "credit_batch_tenant_id_idempotency_key_key" ON "credit_batch"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "credit_batch_item_action_id_key" ON "credit_batch_item"("action_id");

-- AddForeignKey
ALTER TABLE "credit_batch" ADD CONSTRAINT "credit_batch_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_batch_item" ADD CONSTRAINT "credit_batch_item_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "credit_batch"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_batch_item" ADD CONSTRAINT "credit_batch_item_action_id_fkey" FOREIGN KEY ("action_id") REFERENCES "credit_action"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
