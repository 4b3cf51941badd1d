import assert from "node:assert/strict";
import { cacheNamespace } from "./_pipeline.ts";

Deno.test("cacheNamespace() keeps callers without a tenant apart from every tenant, whatever its name", () => {
  const none = cacheNamespace({});
  for (const tenant of ["default", "no-tenant", "tenant:", "anonymous", none]) {
    assert.notEqual(cacheNamespace({ tenant }), none, `tenant "${tenant}"`);
  }
  assert.equal(cacheNamespace({ tenant: "acme" }), "tenant:acme");
  assert.notEqual(cacheNamespace({ tenant: "tenant:acme" }), cacheNamespace({ tenant: "acme" }));
});
