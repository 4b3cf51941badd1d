import assert from "node:assert/strict";
import { PluginError } from "../protocol/errors.ts";
import { upstreamBaseUrl, type UpstreamConnection, upstreamHeaders } from "./connection.ts";

const connection: UpstreamConnection = {
  base_url: "http://127.0.0.1:9/v1/",
  api_key: "sk-upstream-secret",
  organization: "org-1",
  project: "proj-1",
  headers: { "x-extra": "yes", authorization: "Bearer not-this-one" },
  allowed_base_urls: ["http://10.0.0.", "http://127.0.0.1:7000/"],
};

Deno.test("upstreamBaseUrl() uses the config's base URL without a trailing slash", () => {
  assert.equal(upstreamBaseUrl(connection, { upstream: "u", model: "m" }), "http://127.0.0.1:9/v1");
});

Deno.test("upstreamBaseUrl() takes a route's base_url only under an allowed prefix", () => {
  const route = (base_url: unknown) => ({ upstream: "u", model: "m", options: { base_url } });
  assert.equal(
    upstreamBaseUrl(connection, route("http://10.0.0.7:8000/v1/")),
    "http://10.0.0.7:8000/v1",
  );
  assert.throws(
    () => upstreamBaseUrl(connection, route("http://evil.example/v1")),
    (error) =>
      error instanceof PluginError && error.type === "bad_request" && error.data.status === 500 &&
      error.message ===
        'Route option "base_url" is not allowed: it "http://evil.example/v1" starts with none of allowed_base_urls',
  );
  assert.throws(
    () => upstreamBaseUrl(connection, route(5)),
    /Route option "base_url" must be a string/,
  );
});

Deno.test("upstreamBaseUrl() refuses overrides that only look as if they started with a prefix", () => {
  const route = (base_url: string) => ({ upstream: "u", model: "m", options: { base_url } });
  const refusedFor = (base_url: string) => {
    try {
      upstreamBaseUrl(connection, route(base_url));
    } catch (error) {
      return (error as PluginError).message;
    }
    return "allowed";
  };
  // The host is evil.example: the rest is user info, which fetch would send as Basic auth.
  assert.match(refusedFor("http://10.0.0.7@evil.example/v1"), /carries user info/);
  assert.doesNotMatch(refusedFor("http://u:pw@10.0.0.7/v1"), /pw/, "user info is not echoed");
  // A name that begins like an allowed address is not that address.
  assert.match(refusedFor("http://10.0.0.7.evil.example/v1"), /starts with none/);
  assert.match(refusedFor("http://127.0.0.1:7000.evil.example/v1"), /starts with none|not a URL/);
  assert.match(refusedFor("http://10.0.0.7:8000/v1?x=1"), /query or fragment/);
  assert.match(refusedFor("ftp://10.0.0.7/v1"), /not http/);
  assert.match(refusedFor("not a url"), /not a URL/);
  // What the prefixes are for still works, normalized.
  assert.equal(
    upstreamBaseUrl(connection, route("HTTP://10.0.0.7:8000/v1")),
    "http://10.0.0.7:8000/v1",
  );
  assert.equal(
    upstreamBaseUrl(connection, route("http://127.0.0.1:7000/v1")),
    "http://127.0.0.1:7000/v1",
  );
  const named = { ...connection, allowed_base_urls: ["https://llm.internal"] };
  assert.equal(upstreamBaseUrl(named, route("https://llm.internal/v1")), "https://llm.internal/v1");
  assert.throws(() => upstreamBaseUrl(named, route("https://llm.internal.evil.example/v1")));
});

Deno.test("upstreamHeaders() sends the key, organization, project and extra headers; the key wins", () => {
  assert.deepEqual(upstreamHeaders(connection, true), {
    "content-type": "application/json",
    accept: "text/event-stream",
    "x-extra": "yes",
    authorization: "Bearer sk-upstream-secret",
    "openai-organization": "org-1",
    "openai-project": "proj-1",
  });
  const keyless = { base_url: "x", headers: {}, allowed_base_urls: [] };
  assert.deepEqual(upstreamHeaders(keyless, false), {
    "content-type": "application/json",
    accept: "application/json",
  });
});
