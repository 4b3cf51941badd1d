import assert from "node:assert/strict";
import { createRenderer, templateProblems } from "./_render.ts";

const DECLARED = new Set(["product", "items", "user", "flag"]);

Deno.test("createRenderer() inserts values without HTML escaping", () => {
  const render = createRenderer();
  assert.equal(
    render("Quote {{q}} & {{{q}}} & {{&q}}", { q: `<b>"Tom's" & co</b>` }),
    `Quote <b>"Tom's" & co</b> & <b>"Tom's" & co</b> & <b>"Tom's" & co</b>`,
  );
});

Deno.test("createRenderer() renders numbers, dotted names, lists and inverted sections", () => {
  const render = createRenderer();
  const template = "{{user.name}} has {{count}} items:{{#items}}\n- {{title}}{{/items}}" +
    "{{^items}} none{{/items}}";
  assert.equal(
    render(template, { user: { name: "Ann" }, count: 2, items: [{ title: "a" }, { title: "b" }] }),
    "Ann has 2 items:\n- a\n- b",
  );
  assert.equal(
    render(template, { user: { name: "Bo" }, count: 0, items: [] }),
    "Bo has 0 items: none",
  );
  assert.equal(render("{{#tags}}{{.}},{{/tags}}", { tags: ["x", "y"] }), "x,y,");
});

Deno.test("createRenderer() renders a missing optional variable as empty text", () => {
  assert.equal(createRenderer()("Hello {{name}}!", {}), "Hello !");
});

Deno.test("templateProblems() accepts declared names, dotted names and item fields in sections", () => {
  assert.deepEqual(
    templateProblems(
      "{{product}} {{user.name}} {{#items}}{{title}}{{.}}{{/items}} {{^flag}}x{{/flag}} {{! note}}",
      DECLARED,
    ),
    [],
  );
  assert.deepEqual(templateProblems("{{=<% %>=}}<% product %>", DECLARED), []);
});

Deno.test("templateProblems() names every undeclared variable outside sections", () => {
  assert.deepEqual(
    templateProblems("{{ghost}} {{#spooky}}{{/spooky}} {{^boo.x}}{{/boo.x}} {{ghost}}", DECLARED),
    [
      'uses the variable "ghost", which is not declared in variables',
      'uses the variable "spooky", which is not declared in variables',
      'uses the variable "boo", which is not declared in variables',
    ],
  );
  assert.deepEqual(templateProblems("{{^flag}}{{ghost}}{{/flag}}", DECLARED), [
    'uses the variable "ghost", which is not declared in variables',
  ]);
});

Deno.test("templateProblems() refuses partials and templates that do not parse", () => {
  assert.deepEqual(templateProblems("{{> header}}", DECLARED), [
    "partials are not supported: {{> header}}",
  ]);
  assert.deepEqual(templateProblems("{{#items}} open", DECLARED), [
    'the template does not parse: Unclosed section "items" at 15',
  ]);
  assert.deepEqual(templateProblems("{{#items}}{{/user}}", DECLARED), [
    'the template does not parse: Unclosed section "items" at 10',
  ]);
  assert.deepEqual(templateProblems("{{/items}}", DECLARED), [
    'the template does not parse: Unopened section "items" at 0',
  ]);
  assert.deepEqual(templateProblems("Hi {{name", DECLARED), [
    "the template does not parse: Unclosed tag at 9",
  ]);
});
