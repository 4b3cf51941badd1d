/**
 * Where and how cache-redis connects, pure: the config's URL, sentinels, credentials and TLS
 * settings turned into explicit connection settings.
 *
 * The URL is parsed here and never handed to node-redis: node-redis lets a URL's credentials
 * override explicit ones, and some of its errors quote the URL, which is a secret.
 *
 * - standalone and cluster: the URL names the server (or one node to discover the cluster
 *   from) and may hold its credentials; `username`/`password` win over the URL's.
 * - sentinel: the URL names a sentinel and holds the sentinels' credentials;
 *   `username`/`password` are those of the master and replicas.
 *
 * @module
 */

import type { Config } from "./config.ts";

/** One server or sentinel. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/** User and password for one kind of node. */
export interface Credentials {
  /** ACL user. */
  username?: string;
  /** Password. */
  password?: string;
}

/** TLS settings of every connection (`rediss:`). */
export interface TlsSettings {
  /** PEM text of the CAs to trust instead of the system's. */
  ca?: string;
  /** SNI name and the name checked against the certificate. */
  servername?: string;
  /** Refuse a certificate that does not verify. */
  rejectUnauthorized: boolean;
}

/** The connection settings of one deployment. */
export interface Endpoints {
  /** The deployment's kind. */
  mode: Config["mode"];
  /** The server (standalone), a seed node (cluster) or the sentinels (sentinel). */
  nodes: HostPort[];
  /** TLS to every node, when the URL is `rediss:`. */
  tls?: TlsSettings;
  /** Credentials of the data nodes (the server, cluster nodes, or master and replicas). */
  credentials: Credentials;
  /** Database number (standalone and sentinel). */
  database: number;
  /** Sentinel mode: the master's name and the sentinels' credentials. */
  sentinel?: { masterName: string; credentials: Credentials };
}

/** Default port of a Redis server. */
export const REDIS_PORT = 6379;
/** Default port of a Redis sentinel. */
export const SENTINEL_PORT = 26379;

/** Parse `host:port` or `[v6]:port`. */
export function parseHostPort(text: string): HostPort {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(text.slice(colon + 1)) };
}

function credentialsOf(username: string | undefined, password: string | undefined): Credentials {
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/** The connection settings of a validated config. */
export function endpointsOf(config: Config): Endpoints {
  const url = new URL(config.url);
  const sentinelMode = config.mode === "sentinel";
  const first = {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (sentinelMode ? SENTINEL_PORT : REDIS_PORT) : Number(url.port),
  };
  const inUrl = credentialsOf(
    url.username ? decodeURIComponent(url.username) : undefined,
    url.password ? decodeURIComponent(url.password) : undefined,
  );
  const path = url.pathname.replace(/^\//, "");
  const tls = url.protocol === "rediss:"
    ? {
      rejectUnauthorized: config.tls?.reject_unauthorized ?? true,
      ...(config.tls?.ca === undefined ? {} : { ca: config.tls.ca }),
      ...(config.tls?.servername === undefined ? {} : { servername: config.tls.servername }),
    }
    : undefined;
  return {
    mode: config.mode,
    nodes: [first, ...(config.sentinel?.nodes ?? []).map(parseHostPort)],
    ...(tls === undefined ? {} : { tls }),
    credentials: sentinelMode
      ? credentialsOf(config.username, config.password)
      : credentialsOf(config.username ?? inUrl.username, config.password ?? inUrl.password),
    database: path === "" ? 0 : Number(path),
    ...(sentinelMode && config.sentinel !== undefined
      ? { sentinel: { masterName: config.sentinel.master_name, credentials: inUrl } }
      : {}),
  };
}

/** Every password of the settings, to keep out of messages. */
export function passwordsOf(endpoints: Endpoints): string[] {
  return [endpoints.credentials.password, endpoints.sentinel?.credentials.password].filter(
    (password): password is string => password !== undefined,
  );
}

/** `host:port` of each node, for logs and health (no credentials). */
export function describeNodes(endpoints: Endpoints): string[] {
  return endpoints.nodes.map(({ host, port }) =>
    host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
  );
}
