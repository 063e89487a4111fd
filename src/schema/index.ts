// The gateway's GraphQL schema. Importing a schema file registers its types with the builder, so every
// schema file is imported here, before the schema is built.
import { builder } from "./builder.ts";
import "./scalars.ts";
import "./meta.ts";
import "./errors.ts";
import "./common.ts";
import "./store-partner.ts";
import "./customer.ts";
import "./credit-account.ts";
import "./credit-grant.ts";
import "./credit-action.ts";
import "./credit-hold.ts";
import "./credit-batch.ts";
import "./history.ts";
import "./live.ts";
import "./federation.ts";

export const schema = builder.toSchema();
