/**
 * A strict stand-in for GitHub's REST API, as seen by a GitHub App, for tests (dfm's GITHUB_API_URL).
 *
 * Every request is routed and validated against GitHub's official OpenAPI description
 * (@octokit/openapi, api.github.com.json): a request GitHub would refuse is refused here too, AND
 * recorded as a violation, so a test fails on it (`assertNoViolations()`) even when dfm swallows the
 * error response. App-level operations need a valid app JWT (RS256, signed with `privateKey`),
 * every other operation an installation token that this stand-in issued.
 *
 * Built in: the app, its installations, installation access tokens, the repositories of an
 * installation and `GET /repos/{owner}/{repo}`. Any other valid operation answers with a mock built
 * from the spec (its success status and example), or with what a test registers via `on()`.
 */
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { OpenAPIBackend, type AjvCustomizer, type Operation } from 'openapi-backend';

// ---------------------------------------------------------------------------------------------
// The spec: loaded and compiled once per process
// ---------------------------------------------------------------------------------------------

/** Only api.github.com's description: the package index loads every variant (GHES, GHEC: 385 MB). */
const SPEC_PATH = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');

// Kept on globalThis rather than in a module variable, so that it also survives a re-evaluation of
// this module in the same process (vitest re-imports modules per test file when workers are reused).
const SPEC_CACHE = Symbol.for('dfm.test.github-api-stand-in.spec');
type SpecCache = { [SPEC_CACHE]?: Promise<LoadedSpec> };

export interface LoadedSpec {
  api: OpenAPIBackend;
  /** Milliseconds that reading, dereferencing and indexing the spec took (once per process). */
  loadMs: number;
}

/**
 * GitHub's OpenAPI description as an openapi-backend router + validator. `quick: true` skips the
 * validation of the (trusted) document and compiles a request validator only when an operation is
 * first used: with 1,223 operations, precompiling all of them would take most of a minute.
 */
export function loadGitHubSpec(): Promise<LoadedSpec> {
  const cache = globalThis as SpecCache;
  cache[SPEC_CACHE] ??= (async () => {
    const began = performance.now();
    const definition = JSON.parse(await readFile(SPEC_PATH, 'utf8'));
    normalizeNullable(definition);
    const api = new OpenAPIBackend({ definition, quick: true, validate: true, strict: false, customizeAjv: addFormats });
    await api.init();
    return { api, loadMs: Math.round(performance.now() - began) };
  })();
  return cache[SPEC_CACHE];
}

/**
 * OpenAPI 3.0's `nullable: true` beside `allOf`/`oneOf`/`anyOf` without a `type` (145 schemas of
 * GitHub's description, e.g. the milestone of POST /repos/{owner}/{repo}/issues) makes Ajv throw
 * '"nullable" cannot be used without "type"' when it compiles the operation: such a schema becomes
 * `anyOf: [<schema>, { type: 'null' }]`, which means the same. In place, before dereferencing.
 */
function normalizeNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) normalizeNullable(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  if (typeof schema['nullable'] === 'boolean' && schema['type'] === undefined) {
    const nullable = schema['nullable'];
    delete schema['nullable'];
    const core = Object.fromEntries(Object.entries(schema).filter(([key]) => !ANNOTATIONS.has(key)));
    // Without any constraint the schema accepts null already.
    if (nullable && Object.keys(core).length > 0) {
      for (const key of Object.keys(core)) delete schema[key];
      schema['anyOf'] = [core, { type: 'null' }];
    }
  }
  for (const [key, value] of Object.entries(schema)) {
    // Examples are data, not schemas (a data object may well have a "nullable" key).
    if (key !== 'example' && key !== 'examples') normalizeNullable(value);
  }
}

const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples', 'readOnly', 'writeOnly', 'deprecated', 'externalDocs']);

/**
 * The spec's string formats: date-time, uri, email … checked (ajv-formats, which openapi-backend's
 * openapi-schema-validator brings); GitHub's own ones (repo.nwo, timestamp) accepted as they are.
 * Without this Ajv ignores every format, with a warning per schema.
 */
const addFormats: AjvCustomizer = (ajv) => {
  const formatsPlugin = loadAjvFormats();
  if (formatsPlugin !== undefined) formatsPlugin(ajv);
  for (const format of ['repo.nwo', 'timestamp', 'int32', 'int64', 'double', 'binary', 'uri-template']) {
    if (ajv.formats[format] === undefined) ajv.addFormat(format, true);
  }
  return ajv;
};

type AjvFormatsPlugin = (ajv: Parameters<AjvCustomizer>[0]) => unknown;

/** ajv-formats as openapi-backend's dependency tree resolves it (it is not a dependency of dfm). */
function loadAjvFormats(): AjvFormatsPlugin | undefined {
  try {
    const fromBackend = createRequire(createRequire(import.meta.url).resolve('openapi-backend'));
    const fromSchemaValidator = createRequire(fromBackend.resolve('openapi-schema-validator'));
    const plugin = fromSchemaValidator('ajv-formats') as AjvFormatsPlugin | { default: AjvFormatsPlugin };
    return typeof plugin === 'function' ? plugin : plugin.default;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface StandInRepositoryInput {
  id?: number;
  name: string;
  owner: string;
  /** Default `main`. */
  defaultBranch?: string;
  /** Where `git clone` of this repository goes: point it at a local git server. */
  cloneUrl: string;
  private?: boolean;
}

export interface StandInRepository {
  id: number;
  name: string;
  owner: string;
  defaultBranch: string;
  cloneUrl: string;
  private: boolean;
}

export interface StandInInstallationInput {
  id?: number;
  /** Login of the account (organisation or user) the app is installed on. */
  account: string;
  accountType?: 'Organization' | 'User';
  repositories?: StandInRepositoryInput[];
}

export interface StandInInstallation {
  id: number;
  account: string;
  accountId: number;
  accountType: 'Organization' | 'User';
  repositories: StandInRepository[];
}

export interface IssuedToken {
  token: string;
  installationId: number;
  expiresAt: Date;
  /** Repository names (lowercase) the token is restricted to; undefined: all of the installation's. */
  repositories: string[] | undefined;
  revoked: boolean;
}

export interface RecordedRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Undefined when no operation of the spec matched. */
  operationId: string | undefined;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw text of another body, undefined without a body. */
  body: unknown;
  /** The status the stand-in answered with. */
  status: number;
  /** The body it answered with (undefined for none). */
  responseBody: unknown;
}

export interface HandlerInput {
  operationId: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The installation whose token authenticated the request (undefined for app/anonymous ones). */
  installationId: number | undefined;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type OperationHandler = (input: HandlerInput) => HandlerResult | Promise<HandlerResult>;

export interface GitHubStandInOptions {
  appId?: number;
  /** PEM (PKCS#1 or PKCS#8). Default: a fresh 2048-bit RSA key, PKCS#1 as GitHub hands it out. */
  privateKey?: string;
  /** The app's slug (its name in URLs). */
  slug?: string;
}

export interface GitHubStandIn {
  /** Base URL, e.g. http://127.0.0.1:34567 (use as GITHUB_API_URL / Octokit's baseUrl). */
  readonly url: string;
  readonly appId: number;
  readonly slug: string;
  /** The app's private key (PEM, PKCS#1 unless one was passed in). */
  readonly privateKey: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** "METHOD url: reason" for each request GitHub would have refused. */
  readonly violations: string[];
  /** Installation tokens issued so far, by token. */
  readonly tokens: ReadonlyMap<string, IssuedToken>;
  /** How long loading the spec took in this process (0 when it was already loaded). */
  readonly specLoadMs: number;
  addInstallation(installation: StandInInstallationInput): StandInInstallation;
  removeInstallation(installationId: number): void;
  addRepository(installationId: number, repository: StandInRepositoryInput): StandInRepository;
  /** Takes a repository (by name or owner/name) out of an installation, as a user would in the app settings. */
  removeRepository(installationId: number, name: string): void;
  installation(installationId: number): StandInInstallation | undefined;
  /** Whether `token` is an unexpired, unrevoked token of this stand-in (of that installation, if given). */
  isValidToken(token: string, installationId?: number): boolean;
  /** Makes every token issued so far expired (a test of token refresh). */
  expireTokens(): void;
  /** Answers `operationId` with `handler` instead of the built-in/mock response (after auth and validation). */
  on(operationId: string, handler: OperationHandler): void;
  /** Requests of one operation. */
  requestsFor(operationId: string): RecordedRequest[];
  /** Throws, listing every violation, if there was any. */
  assertNoViolations(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Constants of GitHub's behaviour
// ---------------------------------------------------------------------------------------------

const DOCS = 'https://docs.github.com/rest';
const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** GitHub refuses app JWTs that live longer than ten minutes. */
const MAX_JWT_LIFETIME_S = 600;
/** Leeway for clock drift between dfm and "GitHub" (iat a little in the future is accepted). */
const CLOCK_DRIFT_S = 60;

/** Operations authenticated as the app itself (JWT), not as an installation. */
const APP_OPERATIONS = new Set([
  'apps/get-authenticated',
  'apps/list-installations',
  'apps/get-installation',
  'apps/delete-installation',
  'apps/create-installation-access-token',
  'apps/get-repo-installation',
  'apps/get-org-installation',
  'apps/get-user-installation',
  'apps/suspend-installation',
  'apps/unsuspend-installation',
]);

/** Operations GitHub answers without authentication; any credentials are not checked. */
const ANONYMOUS_OPERATIONS = new Set(['meta/root', 'meta/get', 'meta/get-zen', 'meta/get-octocat', 'rate-limit/get']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Set when the request is one dfm must never send: it becomes a violation. Null: GitHub's legitimate answer. */
    readonly violation: string | null,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export async function startGitHubStandIn(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const alreadyLoaded = (globalThis as SpecCache)[SPEC_CACHE] !== undefined;
  const spec = await loadGitHubSpec();
  const standIn = new StandIn(spec.api, options, alreadyLoaded ? 0 : spec.loadMs);
  await standIn.listen();
  return standIn;
}

class StandIn implements GitHubStandIn {
  url = '';
  readonly appId: number;
  readonly slug: string;
  readonly privateKey: string;
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly tokens = new Map<string, IssuedToken>();
  private readonly publicKey: KeyObject;
  private readonly installations = new Map<number, StandInInstallation>();
  private readonly handlers = new Map<string, OperationHandler>();
  /** Operations matched before, by `<method> <path>` (bounded: cleared at 10,000). */
  private readonly routes = new Map<string, Operation | undefined>();
  private readonly server: Server;
  private nextId = 1000;

  constructor(
    private readonly api: OpenAPIBackend,
    options: GitHubStandInOptions,
    readonly specLoadMs: number,
  ) {
    this.appId = options.appId ?? 100_000 + Math.floor(Math.random() * 900_000);
    this.slug = options.slug ?? 'dfm-test-app';
    this.privateKey = options.privateKey ?? generateAppKey();
    this.publicKey = createPublicKey(this.privateKey);
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // Keep-alive sockets of an Octokit (undici) would otherwise hold close() open.
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  // --- installations --------------------------------------------------------------------------

  addInstallation(input: StandInInstallationInput): StandInInstallation {
    const id = input.id ?? this.newId();
    if (this.installations.has(id)) throw new Error(`installation ${id} exists already`);
    const installation: StandInInstallation = {
      id,
      account: input.account,
      accountId: this.newId(),
      accountType: input.accountType ?? 'Organization',
      repositories: [],
    };
    this.installations.set(id, installation);
    for (const repository of input.repositories ?? []) this.addRepository(id, repository);
    return installation;
  }

  removeInstallation(installationId: number): void {
    this.installations.delete(installationId);
  }

  addRepository(installationId: number, input: StandInRepositoryInput): StandInRepository {
    const installation = this.requireInstallation(installationId);
    const repository: StandInRepository = {
      id: input.id ?? this.newId(),
      name: input.name,
      owner: input.owner,
      defaultBranch: input.defaultBranch ?? 'main',
      cloneUrl: input.cloneUrl,
      private: input.private ?? true,
    };
    installation.repositories.push(repository);
    return repository;
  }

  removeRepository(installationId: number, name: string): void {
    const installation = this.requireInstallation(installationId);
    installation.repositories = installation.repositories.filter((r) => !matchesName(r, name));
  }

  installation(installationId: number): StandInInstallation | undefined {
    return this.installations.get(installationId);
  }

  // --- tokens -----------------------------------------------------------------------------------

  isValidToken(token: string, installationId?: number): boolean {
    const issued = this.tokens.get(token);
    if (issued === undefined || issued.revoked || issued.expiresAt.getTime() <= Date.now()) return false;
    return installationId === undefined || issued.installationId === installationId;
  }

  expireTokens(): void {
    for (const issued of this.tokens.values()) issued.expiresAt = new Date(Date.now() - 1000);
  }

  // --- test API ---------------------------------------------------------------------------------

  on(operationId: string, handler: OperationHandler): void {
    // A typo would otherwise silently leave the mock in place.
    if (this.api.router.getOperation(operationId) === undefined) throw new Error(`no operation ${operationId} in GitHub's OpenAPI description`);
    this.handlers.set(operationId, handler);
  }

  requestsFor(operationId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operationId === operationId);
  }

  assertNoViolations(): void {
    if (this.violations.length > 0) {
      throw new Error(`${this.violations.length} request(s) to the GitHub API stand-in GitHub would have refused:\n${this.violations.map((v) => `  - ${v}`).join('\n')}`);
    }
  }

  // --- request handling -----------------------------------------------------------------------

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, this.url);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      operationId: undefined,
      query: searchParamsToObject(url.searchParams),
      headers: req.headers,
      body: undefined,
      status: 0,
      responseBody: undefined,
    };
    this.requests.push(record);
    let result: HandlerResult;
    try {
      const raw = await readBody(req);
      record.body = parseBody(raw, req.headers['content-type']);
      result = await this.dispatch(record, rawUrl);
    } catch (error) {
      result = this.errorResult(error, method, rawUrl);
    }
    record.status = result.status;
    record.responseBody = result.body;
    this.send(res, result);
  }

  /** Route → authenticate → validate → answer, the order in which GitHub refuses a request. */
  private async dispatch(record: RecordedRequest, rawUrl: string): Promise<HandlerResult> {
    const request = { method: record.method, path: rawUrl, headers: headersForValidation(record.headers), body: record.body };
    // openapi-backend matches a path by trying every one of the spec's 811 path patterns (most of
    // the stand-in's CPU under load: ~11 ms a request in bench/pr-check.ts); a method and path seen
    // before match the same operation again.
    const routeKey = `${record.method} ${record.path}`;
    let operation = this.routes.get(routeKey);
    if (operation === undefined && !this.routes.has(routeKey)) {
      operation = this.api.router.matchOperation(request) as Operation | undefined;
      if (this.routes.size >= 10_000) this.routes.clear();
      this.routes.set(routeKey, operation);
    }
    if (operation?.operationId === undefined) throw new HttpError(404, 'Not Found', `no operation of GitHub's REST API is ${record.method} ${record.path}`);
    const operationId = operation.operationId;
    record.operationId = operationId;

    checkGitHubHeaders(record.headers);
    const installationId = this.authenticate(operationId, record.headers['authorization']);
    this.validate(request, operation);

    const params = decodeParams(this.api.router.parseRequest(request, operation).params as Record<string, string>);
    const input: HandlerInput = { operationId, params, query: record.query, body: record.body, headers: record.headers, installationId };
    if (installationId !== undefined) this.checkRepositoryAccess(params, record.headers['authorization']);

    const custom = this.handlers.get(operationId);
    if (custom !== undefined) return custom(input);
    return this.builtIn(input, record) ?? this.mock(operationId);
  }

  private validate(request: { method: string; path: string; headers: Record<string, string>; body: unknown }, operation: Operation): void {
    const validation = this.api.validator.validateRequest(request, operation);
    if (validation.errors) {
      const details = validation.errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params && 'allowedValues' in e.params ? ` (${JSON.stringify(e.params['allowedValues'])})` : ''}`);
      throw new HttpError(422, `Invalid request.\n\n${details.join('\n')}`, `does not conform to ${operation.operationId}: ${details.join('; ')}`);
    }
  }

  /** The installation the request acts for, undefined for app-level and anonymous operations. */
  private authenticate(operationId: string, authorization: string | undefined): number | undefined {
    if (ANONYMOUS_OPERATIONS.has(operationId)) return undefined;
    const credentials = parseAuthorization(authorization);
    if (APP_OPERATIONS.has(operationId)) {
      if (credentials === undefined || credentials.kind !== 'bearer') throw new HttpError(401, 'A JSON web token could not be decoded', `${operationId} needs the app's JWT (Authorization: Bearer <jwt>), got ${describeAuthorization(authorization)}`);
      this.verifyJwt(credentials.value, operationId);
      return undefined;
    }
    if (credentials === undefined) throw new HttpError(401, 'Requires authentication', `${operationId} sent without an installation token`);
    if (looksLikeJwt(credentials.value)) throw new HttpError(401, 'Bad credentials', `${operationId} authenticated with the app's JWT: it needs an installation token`);
    const issued = this.tokens.get(credentials.value);
    if (issued === undefined) throw new HttpError(401, 'Bad credentials', `${operationId} with a token this stand-in never issued`);
    if (issued.revoked) throw new HttpError(401, 'Bad credentials', `${operationId} with a revoked installation token`);
    if (issued.expiresAt.getTime() <= Date.now()) throw new HttpError(401, 'Bad credentials', `${operationId} with an expired installation token (expired ${issued.expiresAt.toISOString()})`);
    if (!this.installations.has(issued.installationId)) throw new HttpError(401, 'Bad credentials', `${operationId} with a token of removed installation ${issued.installationId}`);
    return issued.installationId;
  }

  private verifyJwt(jwt: string, operationId: string): void {
    const refuse = (reason: string): never => {
      throw new HttpError(401, 'A JSON web token could not be decoded', `${operationId} with a bad app JWT: ${reason}`);
    };
    const parts = jwt.split('.');
    if (parts.length !== 3) refuse('not three dot-separated parts');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeJwtPart(headerPart) ?? refuse('header is not base64url JSON');
    if (header['alg'] !== 'RS256') refuse(`alg ${String(header['alg'])}, GitHub requires RS256`);
    const signatureValid = verifyRs256(`${headerPart}.${payloadPart}`, signaturePart, this.publicKey);
    if (!signatureValid) refuse("signature does not verify with the app's public key");
    const claims = decodeJwtPart(payloadPart) ?? refuse('payload is not base64url JSON');
    const { iss, iat, exp } = claims;
    if (String(iss) !== String(this.appId)) refuse(`iss ${JSON.stringify(iss)} is not the app id ${this.appId}`);
    if (typeof iat !== 'number' || typeof exp !== 'number') refuse('iat and exp must be numeric');
    const now = Math.floor(Date.now() / 1000);
    if ((iat as number) > now + CLOCK_DRIFT_S) refuse(`iat ${String(iat)} is in the future`);
    if ((exp as number) <= now) refuse(`expired at ${String(exp)} (now ${now})`);
    if ((exp as number) - (iat as number) > MAX_JWT_LIFETIME_S) refuse(`exp - iat = ${(exp as number) - (iat as number)} s, GitHub allows at most ${MAX_JWT_LIFETIME_S} s`);
  }

  /** GitHub answers 404 for a repository the installation (or the token) cannot see. No violation: tests set that up. */
  private checkRepositoryAccess(params: Record<string, string>, authorization: string | undefined): void {
    const { owner, repo } = params;
    if (owner === undefined || repo === undefined) return;
    const issued = this.tokens.get(parseAuthorization(authorization)?.value ?? '');
    if (issued === undefined) return;
    const repository = this.requireInstallation(issued.installationId).repositories.find((r) => matchesName(r, `${owner}/${repo}`));
    const allowed = repository !== undefined && (issued.repositories === undefined || issued.repositories.includes(repository.name.toLowerCase()));
    if (!allowed) throw new HttpError(404, 'Not Found', null);
  }

  // --- built-in operations --------------------------------------------------------------------

  private builtIn(input: HandlerInput, record: RecordedRequest): HandlerResult | undefined {
    switch (input.operationId) {
      case 'apps/get-authenticated':
        return { status: 200, body: this.appObject() };
      case 'apps/list-installations':
        return this.paginate(record, [...this.installations.values()].map((i) => this.installationObject(i)), (items) => items);
      case 'apps/get-installation':
        return { status: 200, body: this.installationObject(this.findInstallation(Number(input.params['installation_id']))) };
      case 'apps/delete-installation':
        this.findInstallation(Number(input.params['installation_id']));
        this.installations.delete(Number(input.params['installation_id']));
        return { status: 204 };
      case 'apps/create-installation-access-token':
        return this.issueToken(this.findInstallation(Number(input.params['installation_id'])), input.body);
      case 'apps/get-repo-installation':
        return { status: 200, body: this.installationObject(this.installationOfRepository(`${input.params['owner']}/${input.params['repo']}`)) };
      case 'apps/get-org-installation':
      case 'apps/get-user-installation': {
        const login = input.params['org'] ?? input.params['username'] ?? '';
        const installation = [...this.installations.values()].find((i) => i.account.toLowerCase() === login.toLowerCase());
        if (installation === undefined) throw new HttpError(404, 'Not Found', null);
        return { status: 200, body: this.installationObject(installation) };
      }
      case 'apps/list-repos-accessible-to-installation': {
        const installation = this.requireInstallation(input.installationId ?? -1);
        const token = this.tokens.get(parseAuthorization(input.headers['authorization'])?.value ?? '');
        const visible = installation.repositories.filter((r) => token?.repositories === undefined || token.repositories.includes(r.name.toLowerCase()));
        return this.paginate(record, visible.map((r) => this.repositoryObject(installation, r)), (repositories, total) => ({
          total_count: total,
          repository_selection: 'selected',
          repositories,
        }));
      }
      case 'apps/revoke-installation-access-token': {
        const token = this.tokens.get(parseAuthorization(input.headers['authorization'])?.value ?? '');
        if (token !== undefined) token.revoked = true;
        return { status: 204 };
      }
      case 'repos/get': {
        const installation = this.requireInstallation(input.installationId ?? -1);
        const repository = installation.repositories.find((r) => matchesName(r, `${input.params['owner']}/${input.params['repo']}`));
        if (repository === undefined) throw new HttpError(404, 'Not Found', null);
        return { status: 200, body: this.repositoryObject(installation, repository, { full: true }) };
      }
      default:
        return undefined;
    }
  }

  private issueToken(installation: StandInInstallation, body: unknown): HandlerResult {
    const request = (body ?? {}) as { repositories?: string[]; repository_ids?: number[]; permissions?: Record<string, string> };
    let restrictedTo: StandInRepository[] | undefined;
    if (request.repositories !== undefined || request.repository_ids !== undefined) {
      const names = (request.repositories ?? []).map((n) => n.toLowerCase());
      const ids = request.repository_ids ?? [];
      restrictedTo = installation.repositories.filter((r) => names.includes(r.name.toLowerCase()) || ids.includes(r.id));
      if (restrictedTo.length !== names.length + ids.length) {
        // A legitimate answer (a repository left the installation), not a malformed request.
        throw new HttpError(422, 'There is at least one repository that does not exist or is not accessible to the parent installation.', null);
      }
    }
    const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    const expiresAt = new Date(Date.now() + TOKEN_LIFETIME_MS);
    this.tokens.set(token, { token, installationId: installation.id, expiresAt, repositories: restrictedTo?.map((r) => r.name.toLowerCase()), revoked: false });
    const body201: Record<string, unknown> = {
      token,
      expires_at: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      permissions: request.permissions ?? { contents: 'read', metadata: 'read', checks: 'write', statuses: 'write', pull_requests: 'write' },
      repository_selection: restrictedTo === undefined ? 'all' : 'selected',
    };
    if (restrictedTo !== undefined) body201['repositories'] = restrictedTo.map((r) => this.repositoryObject(installation, r));
    return { status: 201, body: body201 };
  }

  /** GitHub's page-based pagination: `per_page` (≤ 100, default 30), `page`, and a Link header. */
  private paginate<T>(record: RecordedRequest, all: T[], shape: (page: T[], total: number) => unknown): HandlerResult {
    const perPage = Math.min(100, Math.max(1, Number(first(record.query['per_page']) ?? 30)));
    const page = Math.max(1, Number(first(record.query['page']) ?? 1));
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string): string => {
      const target = new URL(record.path, this.url);
      for (const [k, v] of Object.entries(record.query)) target.searchParams.set(k, String(first(v)));
      target.searchParams.set('per_page', String(perPage));
      target.searchParams.set('page', String(p));
      return `<${target.href}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    return { status: 200, body: shape(items, all.length), headers: links.length > 0 ? { link: links.join(', ') } : {} };
  }

  private mock(operationId: string): HandlerResult {
    const { status, mock } = this.api.mockResponseForOperation(operationId);
    // Examples are shared objects of the cached spec: never hand out (or let a test mutate) them.
    return { status, body: mock === undefined ? undefined : structuredClone(mock) };
  }

  // --- GitHub-shaped objects ------------------------------------------------------------------

  private appObject(): Record<string, unknown> {
    const owner = this.userObject('dfm-tests', 1, 'Organization');
    return {
      id: this.appId,
      slug: this.slug,
      client_id: `Iv1.${this.appId.toString(16).padStart(16, '0')}`,
      node_id: nodeId('A_', this.appId),
      owner,
      name: this.slug,
      description: 'dfm test app',
      external_url: 'https://example.com',
      html_url: `https://github.com/apps/${this.slug}`,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      permissions: { contents: 'read', metadata: 'read', checks: 'write', statuses: 'write', pull_requests: 'write' },
      events: ['push', 'pull_request', 'check_run', 'installation', 'installation_repositories'],
      installations_count: this.installations.size,
    };
  }

  private installationObject(installation: StandInInstallation): Record<string, unknown> {
    return {
      id: installation.id,
      // The spec's GET /app/installations says allOf [simple-user, enterprise] (meant: anyOf):
      // the enterprise's required fields as well, so the object conforms to both readings.
      account: {
        ...this.userObject(installation.account, installation.accountId, installation.accountType),
        name: installation.account,
        slug: installation.account.toLowerCase(),
        created_at: '2024-01-01T00:00:00Z',
        updated_at: '2024-01-01T00:00:00Z',
      },
      repository_selection: 'selected',
      access_tokens_url: `${this.url}/app/installations/${installation.id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url: `https://github.com/organizations/${installation.account}/settings/installations/${installation.id}`,
      app_id: this.appId,
      app_slug: this.slug,
      target_id: installation.accountId,
      target_type: installation.accountType,
      permissions: { contents: 'read', metadata: 'read', checks: 'write', statuses: 'write', pull_requests: 'write' },
      events: ['push', 'pull_request'],
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      single_file_name: null,
      suspended_by: null,
      suspended_at: null,
    };
  }

  private userObject(login: string, id: number, type: string): Record<string, unknown> {
    const api = `${this.url}/users/${login}`;
    return {
      login,
      id,
      node_id: nodeId(type === 'User' ? 'U_' : 'O_', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: api,
      html_url: `https://github.com/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type,
      site_admin: false,
    };
  }

  /** A `repository` (or, with `full`, a `full-repository`) object with every field the spec requires. */
  private repositoryObject(installation: StandInInstallation, repository: StandInRepository, { full = false } = {}): Record<string, unknown> {
    const fullName = `${repository.owner}/${repository.name}`;
    const api = `${this.url}/repos/${fullName}`;
    const ownerInstallation = repository.owner.toLowerCase() === installation.account.toLowerCase();
    const owner = this.userObject(repository.owner, ownerInstallation ? installation.accountId : stableId(repository.owner), ownerInstallation ? installation.accountType : 'Organization');
    const urls = Object.fromEntries(
      [
        ['archive_url', '/{archive_format}{/ref}'],
        ['assignees_url', '/assignees{/user}'],
        ['blobs_url', '/git/blobs{/sha}'],
        ['branches_url', '/branches{/branch}'],
        ['collaborators_url', '/collaborators{/collaborator}'],
        ['comments_url', '/comments{/number}'],
        ['commits_url', '/commits{/sha}'],
        ['compare_url', '/compare/{base}...{head}'],
        ['contents_url', '/contents/{+path}'],
        ['contributors_url', '/contributors'],
        ['deployments_url', '/deployments'],
        ['downloads_url', '/downloads'],
        ['events_url', '/events'],
        ['forks_url', '/forks'],
        ['git_commits_url', '/git/commits{/sha}'],
        ['git_refs_url', '/git/refs{/sha}'],
        ['git_tags_url', '/git/tags{/sha}'],
        ['hooks_url', '/hooks'],
        ['issue_comment_url', '/issues/comments{/number}'],
        ['issue_events_url', '/issues/events{/number}'],
        ['issues_url', '/issues{/number}'],
        ['keys_url', '/keys{/key_id}'],
        ['labels_url', '/labels{/name}'],
        ['languages_url', '/languages'],
        ['merges_url', '/merges'],
        ['milestones_url', '/milestones{/number}'],
        ['notifications_url', '/notifications{?since,all,participating}'],
        ['pulls_url', '/pulls{/number}'],
        ['releases_url', '/releases{/id}'],
        ['stargazers_url', '/stargazers'],
        ['statuses_url', '/statuses/{sha}'],
        ['subscribers_url', '/subscribers'],
        ['subscription_url', '/subscription'],
        ['tags_url', '/tags'],
        ['teams_url', '/teams'],
        ['trees_url', '/git/trees{/sha}'],
      ].map(([key, suffix]) => [key as string, `${api}${suffix as string}`]),
    );
    const object: Record<string, unknown> = {
      id: repository.id,
      node_id: nodeId('R_', repository.id),
      name: repository.name,
      full_name: fullName,
      owner,
      private: repository.private,
      visibility: repository.private ? 'private' : 'public',
      html_url: `https://github.com/${fullName}`,
      description: null,
      fork: false,
      url: api,
      ...urls,
      clone_url: repository.cloneUrl,
      git_url: `git://github.com/${fullName}.git`,
      ssh_url: `git@github.com:${fullName}.git`,
      svn_url: `https://github.com/${fullName}`,
      mirror_url: null,
      homepage: null,
      language: null,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      size: 0,
      default_branch: repository.defaultBranch,
      open_issues: 0,
      open_issues_count: 0,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      has_discussions: false,
      archived: false,
      disabled: false,
      license: null,
      pushed_at: '2024-01-01T00:00:00Z',
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
      allow_forking: false,
      web_commit_signoff_required: false,
    };
    if (full) Object.assign(object, { network_count: 0, subscribers_count: 0 });
    return object;
  }

  // --- helpers ----------------------------------------------------------------------------------

  private newId(): number {
    return this.nextId++;
  }

  private requireInstallation(installationId: number): StandInInstallation {
    const installation = this.installations.get(installationId);
    if (installation === undefined) throw new Error(`no installation ${installationId} in the GitHub stand-in`);
    return installation;
  }

  /** For requests: an unknown installation is GitHub's 404, not an error of the test. */
  private findInstallation(installationId: number): StandInInstallation {
    const installation = this.installations.get(installationId);
    if (installation === undefined) throw new HttpError(404, 'Not Found', null);
    return installation;
  }

  private installationOfRepository(fullName: string): StandInInstallation {
    const installation = [...this.installations.values()].find((i) => i.repositories.some((r) => matchesName(r, fullName)));
    if (installation === undefined) throw new HttpError(404, 'Not Found', null);
    return installation;
  }

  private errorResult(error: unknown, method: string, rawUrl: string): HandlerResult {
    if (error instanceof HttpError) {
      if (error.violation !== null) this.violations.push(`${method} ${rawUrl}: ${error.violation}`);
      return { status: error.status, body: { message: error.message, documentation_url: DOCS, status: String(error.status) } };
    }
    // A bug of the stand-in or of a test's handler: also a reason for the test to fail.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.violations.push(`${method} ${rawUrl}: the stand-in failed: ${message}`);
    return { status: 500, body: { message: 'Server Error', documentation_url: DOCS, status: '500' } };
  }

  private send(res: ServerResponse, result: HandlerResult): void {
    const headers: Record<string, string> = {
      // What api.github.com sends and Octokit reads (throttling, retries, logs).
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23).replace(/-/g, ':'),
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
      ...result.headers,
    };
    const noBody = result.status === 204 || result.status === 304 || result.body === undefined;
    if (noBody) {
      res.writeHead(result.status, headers).end();
      return;
    }
    const text = typeof result.body === 'string' && headers['content-type'] !== undefined ? result.body : JSON.stringify(result.body);
    res.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', ...headers, 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------------------------

/** A GitHub App private key as GitHub hands it out: PEM, PKCS#1 ("BEGIN RSA PRIVATE KEY"). */
function generateAppKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return privateKey;
}

function verifyRs256(signedText: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return createVerify('RSA-SHA256').update(signedText).verify(publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false; // e.g. a signature of the wrong length
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** JSON bodies parsed (GitHub answers malformed JSON with 400); other bodies as text. */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const isJson = contentType === undefined || /^application\/(.+\+)?json\b/i.test(contentType);
  if (!isJson) return text;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'Problems parsing JSON', `body is not JSON: ${(error as Error).message}`);
  }
}

/** Request headers GitHub checks for every operation, whatever the spec says. */
function checkGitHubHeaders(headers: IncomingHttpHeaders): void {
  if (!headers['user-agent']) {
    throw new HttpError(403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header', 'no User-Agent header (GitHub refuses such requests)');
  }
  const version = headers['x-github-api-version'];
  if (version !== undefined && !API_VERSIONS.has(String(version))) {
    throw new HttpError(400, `API version ${String(version)} is not supported.`, `X-GitHub-Api-Version ${String(version)} is not one GitHub supports (${[...API_VERSIONS].join(', ')})`);
  }
}

/** Node's header object (values may be arrays) as openapi-backend wants it. */
function headersForValidation(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}

function decodeParams(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, safeDecode(v)]));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function searchParamsToObject(params: URLSearchParams): Record<string, string | string[]> {
  const object: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const existing = object[key];
    object[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return object;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

type Credentials = { kind: 'bearer' | 'token' | 'basic'; value: string };

/** `Bearer x`, `token x`, or basic auth (whose password is the token, as git and some clients send it). */
function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const match = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!.trim();
  if (scheme === 'bearer') return { kind: 'bearer', value };
  if (scheme === 'token') return { kind: 'token', value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return { kind: 'basic', value: decoded.slice(decoded.indexOf(':') + 1) };
  }
  return undefined;
}

function describeAuthorization(header: string | undefined): string {
  if (header === undefined) return 'no Authorization header';
  const [scheme, value = ''] = header.split(/\s+/, 2);
  return `Authorization: ${scheme} ${value.slice(0, 8)}…`;
}

function looksLikeJwt(value: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(value);
}

function decodeJwtPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** GitHub matches owner/name case-insensitively. */
function matchesName(repository: StandInRepository, name: string): boolean {
  const wanted = name.toLowerCase();
  return wanted.includes('/') ? `${repository.owner}/${repository.name}`.toLowerCase() === wanted : repository.name.toLowerCase() === wanted;
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}${Buffer.from(`0:${id}`).toString('base64url')}`;
}

/** A deterministic id for an owner that is not the installation's account. */
function stableId(login: string): number {
  let hash = 0;
  for (const char of login) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000;
  return 2_000_000 + hash;
}
