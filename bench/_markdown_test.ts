import assert from "node:assert/strict";
import { markdownTable } from "./_markdown.ts";

Deno.test("markdownTable() pads every column to its widest cell, at least 3 wide", () => {
  assert.equal(
    markdownTable(["a", "bb"], [["cccc", 7]]),
    "| a    | bb  |\n| ---- | --- |\n| cccc | 7   |",
  );
});
