/**
 * The pure part of prompt-context-injector that edits the messages: the marker that identifies
 * an injected block, and the idempotent placement of the chosen blocks.
 *
 * A block's message starts with the line `<!-- vulpes:context:<key> -->`. Applying blocks first
 * removes every message that carries the marker of a chosen block (a copy the client sent, one an
 * earlier provider injected), keeps only the first copy of any other marked block, then inserts
 * the chosen blocks at anchors computed on what is left. The anchors depend only on unmarked
 * messages and on blocks that were not chosen, so applying the same blocks again gives the same
 * messages.
 *
 * @module
 */

import type { ChatMessage } from "@vulpes/contract/capabilities";
import type { BlockConfig, Placement } from "./config.ts";
import { PLACEMENTS } from "./config.ts";

const MARKER = /^\s*<!-- vulpes:context:([A-Za-z0-9][A-Za-z0-9_.-]{0,63}) -->/;

/** The marker line of a block, without its newline. */
export function markerLine(key: string): string {
  return `<!-- vulpes:context:${key} -->`;
}

/**
 * The block key a message is marked with: its content (a string, or the first part of a content
 * array when that part is text) starts with a marker line.
 *
 * @param message A chat message.
 * @returns The key, or `null` for an unmarked message.
 */
export function markerOf(message: ChatMessage): string | null {
  const { content } = message;
  let text: unknown = content;
  if (Array.isArray(content)) {
    const first: unknown = content[0];
    text =
      typeof first === "object" && first !== null && (first as { type?: unknown }).type === "text"
        ? (first as { text?: unknown }).text
        : undefined;
  }
  if (typeof text !== "string") return null;
  return MARKER.exec(text)?.[1] ?? null;
}

/** The message that carries a block. */
export function blockMessage(key: string, block: BlockConfig): ChatMessage {
  return { role: block.role, content: `${markerLine(key)}\n${block.content}` };
}

/** A block to place. */
export interface Placed {
  /** The block's key. */
  key: string;
  /** The block. */
  block: BlockConfig;
  /** Where it goes. */
  placement: Placement;
}

/** What {@linkcode applyBlocks} did. */
export interface Applied {
  /** The new messages. */
  messages: ChatMessage[];
  /** Messages removed because they carried a chosen block (replaced by the configured text). */
  replaced: number;
  /** Messages removed because they repeated another marked block. */
  duplicates: number;
}

/**
 * Put blocks into messages, replacing any copy already there; idempotent.
 *
 * @param messages The request's messages (not modified).
 * @param blocks The blocks, in selection order.
 * @returns The new messages and what was removed.
 */
export function applyBlocks(messages: readonly ChatMessage[], blocks: readonly Placed[]): Applied {
  const chosen = new Set(blocks.map((placed) => placed.key));
  const seen = new Set<string>();
  const kept: ChatMessage[] = [];
  let replaced = 0;
  let duplicates = 0;
  for (const message of messages) {
    const key = markerOf(message);
    if (key !== null && chosen.has(key)) replaced++;
    else if (key !== null && seen.has(key)) duplicates++;
    else {
      if (key !== null) seen.add(key);
      kept.push(message);
    }
  }
  if (blocks.length === 0) return { messages: kept, replaced, duplicates };
  const anchors = anchorsOf(kept);
  const out: ChatMessage[] = [];
  for (let index = 0; index <= kept.length; index++) {
    for (const placement of PLACEMENTS) {
      if (anchors[placement] !== index) continue;
      for (const placed of blocks) {
        if (placed.placement === placement) out.push(blockMessage(placed.key, placed.block));
      }
    }
    if (index < kept.length) out.push(kept[index]!);
  }
  return { messages: out, replaced, duplicates };
}

/**
 * Where each placement inserts, as an index into the messages: before the message at that index
 * (the length means at the end). The last user message is the last `user` message that is not a
 * marked block; without one, both user placements insert at the end.
 */
export function anchorsOf(messages: readonly ChatMessage[]): Record<Placement, number> {
  let leading = 0;
  while (leading < messages.length && isInstruction(messages[leading]!)) leading++;
  let lastUser = -1;
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role === "user" && markerOf(message) === null) {
      lastUser = index;
      break;
    }
  }
  return {
    prepend_system: 0,
    append_system: leading,
    before_last_user: lastUser === -1 ? messages.length : lastUser,
    after_last_user: lastUser === -1 ? messages.length : lastUser + 1,
  };
}

function isInstruction(message: ChatMessage): boolean {
  return message.role === "system" || message.role === "developer";
}
