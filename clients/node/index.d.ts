/** Options of `config` and `fetch`; each falls back to HEPGG_SECRETS_* then HUSH_* variables. */
export interface Options {
  /** Environment slug (required for a project-wide token). HEPGG_SECRETS_ENV / HUSH_ENV. */
  env?: string;
  /** Read-only pull token (hsk_…). HEPGG_SECRETS_TOKEN / HUSH_TOKEN. */
  token?: string;
  /** Server base URL (default http://127.0.0.1:8420). HEPGG_SECRETS_URL / HUSH_URL. */
  url?: string;
  /** Passphrase or recovery key of an end-to-end-encrypted project. HEPGG_SECRETS_KEY / HUSH_KEY. */
  key?: string;
  /** Only these names. */
  keys?: string[] | string;
  /** Replace variables process.env already has (default: they win, as with dotenv). */
  override?: boolean;
  /** Keep and use the encrypted last-good cache (default true). */
  cache?: boolean;
  /** Where the cache lives (default HUSH_SECRETS_CACHE_DIR, else ~/.cache/hush-secrets). */
  cacheDir?: string;
  /** Request timeout in milliseconds (default 10000). */
  timeout?: number;
}

/** Why secrets could not be loaded; the message says what to fix. */
export class HushSecretsError extends Error {}

/** Loads the environment's secrets into process.env and returns them. */
export function config(options?: Options): Promise<Record<string, string>>;
/** The environment's secrets, without touching process.env. */
export function fetch(options?: Options): Promise<Record<string, string>>;
export const VERSION: string;
