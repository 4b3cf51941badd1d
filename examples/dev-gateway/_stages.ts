/**
 * The pipeline stages before and after the upstream call: authenticate, rate limit, prompt,
 * cache and route. Each asks its plugins in gateway.yaml order and applies their fail_mode:
 * `open` skips a failed plugin (and logs it), `closed` fails the request with a 503.
 *
 * Longer than 300 lines: five small stages that share one fail_mode helper; mostly JSDoc.
 *
 * @module
 */

import type { ChatMessage, Identity, RateLimitState, Route } from "@vulpes/contract/capabilities";
import type { RateLimiterClient, RouterClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { closedFailure, HttpError, httpError, isPluginFailure } from "./_errors.ts";
import type { Bound, PluginHandle, Plugins } from "./_plugins.ts";
import type { Log } from "./_log.ts";

/** What every stage needs. */
export interface StageContext {
  /** The plugins. */
  plugins: Plugins;
  /** The log. */
  log: Log;
  /** The request id, for log lines. */
  requestId: string;
  /** Aborts when the client leaves, the request times out or the gateway stops. */
  signal: AbortSignal;
  /** Response headers gathered on the way (rate limits). */
  headers: Headers;
}

/** The identity of requests when no authenticator is configured. */
export const ANONYMOUS: Identity = { subject: "anonymous", groups: [] };

/**
 * Call a plugin; on failure apply its fail_mode. Answers (PluginErrors other than
 * `unavailable`) are rethrown for the caller to map.
 */
async function guarded<T>(
  context: StageContext,
  plugin: PluginHandle,
  stage: string,
  call: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    if (!isPluginFailure(error)) throw error;
    if (plugin.failMode === "closed") throw closedFailure(plugin.name, stage, error);
    context.log.warn(`skipped a failed plugin (fail_mode open)`, {
      plugin: plugin.name,
      stage,
      request_id: context.requestId,
      error: (error as Error).message,
    });
    return { ok: false };
  }
}

function options(context: StageContext, plugin: PluginHandle) {
  return { signal: context.signal, timeoutMs: plugin.timeoutMs };
}

/**
 * Authenticate: the first allow wins, a deny stops, abstain passes on; no authenticator
 * means anonymous; nobody allowing means 401.
 *
 * @param context The stage context.
 * @param request The credentials and request summary.
 * @returns The identity.
 * @throws {HttpError} 401/403 on deny or when nobody allows; 503 when a closed plugin fails.
 */
export async function authenticate(
  context: StageContext,
  request: {
    authorization?: string;
    apiKey?: string;
    method: string;
    path: string;
    model?: string;
    clientIp?: string;
  },
): Promise<Identity> {
  const { authenticators } = context.plugins;
  if (authenticators.length === 0) return ANONYMOUS;
  const params = {
    credentials: {
      ...(request.authorization !== undefined ? { authorization: request.authorization } : {}),
      ...(request.apiKey !== undefined ? { api_key: request.apiKey } : {}),
    },
    request: {
      method: request.method,
      path: request.path,
      ...(request.model !== undefined ? { model: request.model } : {}),
      ...(request.clientIp !== undefined ? { client_ip: request.clientIp } : {}),
    },
  };
  for (const { plugin, client } of authenticators) {
    const answer = await guarded(
      context,
      plugin,
      "authenticate the request",
      () => client.authenticate(params, options(context, plugin)),
    );
    if (!answer.ok || answer.value.decision === "abstain") continue;
    if (answer.value.decision === "allow") return answer.value.identity;
    const { status, reason } = answer.value;
    throw httpError(
      status,
      reason,
      status === 403 ? "permission_error" : "authentication_error",
      status === 401 ? "invalid_api_key" : undefined,
    );
  }
  throw httpError(
    401,
    "Missing or unknown API key: send it as Authorization: Bearer <key>",
    "authentication_error",
    "invalid_api_key",
  );
}

/** A rate limit reservation to settle after the response. */
export interface Reservation {
  /** The limiter. */
  bound: Bound<RateLimiterClient>;
  /** Its reservation id. */
  reservation: string;
}

/**
 * Ask every rate limiter; sets `x-ratelimit-*` headers from the tightest limit per unit.
 *
 * @param context The stage context.
 * @param identity Who asks.
 * @param model The model.
 * @param estimatedTokens Tokens the request is expected to use.
 * @returns The reservations to settle.
 * @throws {HttpError} 429 with `retry-after` when a limiter refuses; whatever a later limiter
 *   fails with (503 for `fail_mode: closed`, the signal's reason). Reservations already taken
 *   are settled with 0 before any of these is thrown: the caller only settles what it gets.
 */
export async function acquireLimits(
  context: StageContext,
  identity: Identity,
  model: string,
  estimatedTokens: number,
): Promise<Reservation[]> {
  const reservations: Reservation[] = [];
  try {
    return await acquireEach(context, { identity, model, estimatedTokens }, reservations);
  } catch (error) {
    settleLimits(context, reservations, 0);
    throw error;
  }
}

/** Ask each limiter in turn, adding what it reserves to `reservations` at once. */
async function acquireEach(
  context: StageContext,
  request: { identity: Identity; model: string; estimatedTokens: number },
  reservations: Reservation[],
): Promise<Reservation[]> {
  const { identity, model, estimatedTokens } = request;
  const limits: RateLimitState[] = [];
  for (const bound of context.plugins.rateLimiters) {
    const answer = await guarded(
      context,
      bound.plugin,
      "check the rate limit",
      () =>
        bound.client.acquire({
          subject: identity.subject,
          ...(identity.tenant ? { tenant: identity.tenant } : {}),
          groups: identity.groups,
          model,
          estimated_tokens: estimatedTokens,
        }, options(context, bound.plugin)),
    );
    if (!answer.ok) continue;
    limits.push(...answer.value.limits);
    if (answer.value.reservation) {
      reservations.push({ bound, reservation: answer.value.reservation });
    }
    if (!answer.value.allowed) {
      setLimitHeaders(context.headers, limits);
      const retry = answer.value.retry_after_ms ?? 1000;
      const headers = Object.fromEntries(context.headers);
      headers["retry-after"] = String(Math.max(1, Math.ceil(retry / 1000)));
      headers["retry-after-ms"] = String(Math.round(retry));
      const error = httpError(
        429,
        `Rate limit reached for ${model}: try again in ${Math.ceil(retry / 1000)} s`,
        "rate_limit_error",
        "rate_limit_exceeded",
      );
      throw new HttpError(429, error.body, headers);
    }
  }
  setLimitHeaders(context.headers, limits);
  return reservations;
}

function setLimitHeaders(headers: Headers, limits: readonly RateLimitState[]): void {
  for (const unit of ["requests", "tokens"] as const) {
    const tightest = limits.filter((l) => l.unit === unit)
      .sort((a, b) => a.remaining / (a.limit || 1) - b.remaining / (b.limit || 1))[0];
    if (!tightest) continue;
    headers.set(`x-ratelimit-limit-${unit}`, String(tightest.limit));
    headers.set(`x-ratelimit-remaining-${unit}`, String(Math.max(0, tightest.remaining)));
    headers.set(`x-ratelimit-reset-${unit}`, `${(tightest.reset_ms / 1000).toFixed(3)}s`);
  }
}

/**
 * Settle reservations with the tokens actually used; never blocks, logs failures.
 *
 * @param context The stage context.
 * @param reservations What acquire returned.
 * @param actualTokens Tokens used.
 */
export function settleLimits(
  context: Pick<StageContext, "log" | "requestId">,
  reservations: readonly Reservation[],
  actualTokens: number,
): void {
  for (const { bound, reservation } of reservations) {
    // Nobody waits for a settle: it may go out with the limiter's next message.
    bound.client.settle({ reservation, actual_tokens: Math.max(0, Math.round(actualTokens)) }, {
      timeoutMs: bound.plugin.timeoutMs,
      defer: true,
    }).catch((error) =>
      context.log.warn("cannot settle a rate limit reservation", {
        plugin: bound.plugin.name,
        request_id: context.requestId,
        error: (error as Error).message,
      })
    );
  }
}

/**
 * Apply every prompt provider in order.
 *
 * @param context The stage context.
 * @param identity Who asks.
 * @param model The model.
 * @param messages The messages.
 * @param prompt The request's `prompt` reference, if any.
 * @returns The messages to send.
 */
export async function resolvePrompts(
  context: StageContext,
  identity: Identity,
  model: string,
  messages: ChatMessage[],
  prompt: unknown,
): Promise<ChatMessage[]> {
  let current = messages;
  for (const { plugin, client } of context.plugins.prompts) {
    const answer = await guarded(
      context,
      plugin,
      "resolve the prompt",
      () =>
        client.resolve({
          identity,
          model,
          messages: current,
          ...(isRecord(prompt) ? { prompt: prompt as { id: string } } : {}),
        }, options(context, plugin)),
    );
    if (answer.ok) current = answer.value.messages;
  }
  return current;
}

/** The routes chosen for a request, and the router that chose them (for feedback). */
export interface Routing {
  /** Routes in fallback order. */
  routes: Route[];
  /** The router that answered. */
  router: Bound<RouterClient>;
}

/**
 * Ask the routers in order; the first that does not answer not_found wins.
 *
 * @param context The stage context.
 * @param identity Who asks.
 * @param request Model, stream flag, estimated tokens.
 * @returns The routes.
 * @throws {HttpError} 404 when no router knows the model.
 */
export async function route(
  context: StageContext,
  identity: Identity,
  request: { model: string; stream: boolean; estimatedTokens: number; tags?: string[] },
): Promise<Routing> {
  for (const router of context.plugins.routers) {
    try {
      const answer = await guarded(
        context,
        router.plugin,
        "route the request",
        () =>
          router.client.route({
            model: request.model,
            identity: {
              ...(identity.tenant ? { tenant: identity.tenant } : {}),
              groups: identity.groups,
            },
            request: {
              stream: request.stream,
              estimated_tokens: request.estimatedTokens,
              ...(request.tags ? { tags: request.tags } : {}),
            },
          }, options(context, router.plugin)),
      );
      if (answer.ok) return { routes: answer.value.routes, router };
    } catch (error) {
      if (error instanceof PluginError && error.type === "not_found") continue;
      throw error;
    }
  }
  if (context.plugins.routers.length === 0) {
    throw httpError(503, "No router is configured", "service_unavailable_error", "no_router");
  }
  const error = httpError(
    404,
    `The model "${request.model}" does not exist or you do not have access to it`,
    "invalid_request_error",
    "model_not_found",
  );
  error.body.error.param = "model";
  throw error;
}

/**
 * Every router's models, merged by id (the first router's entry wins).
 *
 * @param context The stage context.
 * @returns OpenAI's model list.
 */
export async function listModels(context: StageContext): Promise<Record<string, unknown>> {
  const seen = new Map<string, { id: string; owned_by: string }>();
  for (const { plugin, client } of context.plugins.routers) {
    const answer = await guarded(
      context,
      plugin,
      "list the models",
      () => client.models(options(context, plugin)),
    );
    if (!answer.ok) continue;
    for (const model of answer.value.models) if (!seen.has(model.id)) seen.set(model.id, model);
  }
  return {
    object: "list",
    data: [...seen.values()].map((m) => ({
      id: m.id,
      object: "model",
      created: 0,
      owned_by: m.owned_by,
    })),
  };
}

/**
 * A rough token estimate (4 characters a token) plus the completion budget.
 *
 * @param body The request body.
 * @returns Tokens.
 */
export function estimateTokens(body: Record<string, unknown>): number {
  const text = JSON.stringify(body.messages ?? body.input ?? "");
  const budget = Number(body.max_completion_tokens ?? body.max_tokens ?? 0);
  return Math.ceil(text.length / 4) + (Number.isFinite(budget) && budget > 0 ? budget : 0);
}

/**
 * Whether a value is a plain object.
 *
 * @param value Anything.
 * @returns True for an object that is not an array.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
