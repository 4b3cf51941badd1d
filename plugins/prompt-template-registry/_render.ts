/**
 * Templates of prompt-template-registry, on top of mustache (logic-less `{{variable}}` templates):
 * static checks at `initialize` and rendering without HTML escaping.
 *
 * @module
 */

// @ts-types="npm:@types/mustache@^4.2.6"
import Mustache from "mustache";

type Token = [string, string, number, number, Token[]?, ...unknown[]];

/** Prompts are text for a model, not HTML: values go in as they are. */
const RENDER_OPTIONS = { escape: (value: unknown) => String(value) };

/**
 * What is wrong with a template, as messages for an `invalid_config` error.
 *
 * A tag outside every `{{#section}}` must name a declared variable (its first segment, for
 * `{{user.name}}`). Inside a section a tag may also name a field of the section's items, so
 * undeclared names there are accepted. Partials (`{{> name}}`) are refused: the registry has none.
 *
 * @param template The template text.
 * @param declared The names of the declared variables.
 * @returns The problems; empty when the template is sound.
 */
export function templateProblems(template: string, declared: ReadonlySet<string>): string[] {
  let tokens: Token[];
  try {
    tokens = new Mustache.Writer().parse(template) as Token[];
  } catch (error) {
    return [`the template does not parse: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const undeclared = new Set<string>();
  walk(tokens, 0, (token, depth) => {
    const [type, value] = token;
    if (type === ">") problems.push(`partials are not supported: {{> ${value}}}`);
    if (!["name", "&", "#", "^"].includes(type) || value === "." || depth > 0) return;
    const name = value.split(".")[0]!;
    if (!declared.has(name)) undeclared.add(name);
  });
  for (const name of undeclared) {
    problems.push(`uses the variable "${name}", which is not declared in variables`);
  }
  return problems;
}

/**
 * A template renderer with its own parse cache (mustache's default one is global).
 *
 * @returns `render(template, view)`: the text, with values inserted unescaped.
 */
export function createRenderer(): (template: string, view: Record<string, unknown>) => string {
  const writer = new Mustache.Writer();
  return function render(template, view) {
    return writer.render(template, view, undefined, RENDER_OPTIONS);
  };
}

function walk(tokens: Token[], depth: number, visit: (token: Token, depth: number) => void) {
  for (const token of tokens) {
    visit(token, depth);
    const children = token[4];
    if (Array.isArray(children)) walk(children, token[0] === "#" ? depth + 1 : depth, visit);
  }
}
