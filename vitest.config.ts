// Vitest configuration: the same test files run twice, once per database engine (projects `sqlite` and
// `postgres`). `npm test` (scripts/test.ts) runs both and provides the PostgreSQL server.
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

const testFiles = ["test/**/*.test.ts"];

// Vitest's default in run mode is one worker per core minus one, which is a single worker on a 2-core CI
// machine and runs every file of both engines one after the other. The tests mostly wait on a database,
// so two workers keep both cores busy. The upper bound matters as much: a container can report many more
// cores than it may use, and every PostgreSQL test database holds its own connection pool, so the worker
// count (not the core count) decides how many connections the server must accept.
const maxWorkers = Math.min(4, Math.max(2, availableParallelism() - 1));

export default defineConfig({
  resolve: {
    // graphql ships both index.js (CommonJS) and index.mjs, and has no "exports" map. Node, which loads the
    // GraphQL libraries from node_modules (Pothos, graphql-scalars, Yoga), picks index.js; Vite, which
    // transforms our own code, would pick index.mjs. Two copies of graphql cannot share a schema ("Cannot
    // use GraphQLScalarType from another module or realm"), so our code is pointed at the same file as
    // Node's.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    maxWorkers,
    // Tests and hooks create, migrate and query real databases; a slow CI machine must not turn that
    // into timeouts.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "sqlite",
          include: testFiles,
          env: { TEST_ENGINE: "sqlite" },
          globalSetup: ["test/support/global-setup-sqlite.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "postgres",
          include: testFiles,
          env: { TEST_ENGINE: "postgres" },
          globalSetup: ["test/support/global-setup-postgres.ts"],
        },
      },
    ],
  },
});
