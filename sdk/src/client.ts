import { type ApiRequest, type ClientOptions, HttpClient, type RequestOptions, sleep } from './core.js';
import { AbortError, TimeoutError } from './errors.js';
import { type ListParams, type Page, PagePromise } from './pagination.js';
import type * as T from './types.js';

/** Run statuses after which `waitForRun` returns (`paused_budget` waits for `resumeRun`). */
export const SETTLED_RUN_STATUSES: readonly T.RunStatus[] = ['completed', 'failed', 'cancelled', 'paused_budget'];

export interface WaitForRunOptions {
  /** Give up after this many milliseconds with a `TimeoutError` (default 10 minutes). */
  timeoutMs?: number;
  /** Stop waiting (an `AbortError`) when it fires. */
  signal?: AbortSignal;
  /** First delay between polls in ms (default 250); grows 1.5× per poll up to `maxPollIntervalMs` (default 2000). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Statuses to stop at (default: completed, failed, cancelled, paused_budget). */
  until?: readonly T.RunStatus[];
}

const enc = encodeURIComponent;

/**
 * The Flapjack Runners API client.
 *
 * ```ts
 * const fj = new FlapjackClient({ apiKey: 'fj_live_…' }); // or FLAPJACK_API_KEY / FLAPJACK_BASE_URL
 * const runner = await fj.createRunner({ name: 'Product Discovery' });
 * const run = await fj.triggerRun(runner.id, { input: { url: 'https://example.com' } });
 * const done = await fj.waitForRun(runner.id, run.id, { timeoutMs: 60_000 });
 * ```
 *
 * Every method takes `RequestOptions` (`timeout`, `signal`, `maxRetries`, `headers`) last. Failures
 * throw `FlapjackError` subclasses (`NotFoundError`, `ValidationError`, …). Lists return a
 * `PagePromise`: `await` it for one page or `for await` over every item.
 */
export class FlapjackClient {
  private readonly http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.http = new HttpClient(options);
  }

  /** The API's base URL this client talks to. */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  private req<R>(r: ApiRequest, opts?: RequestOptions): Promise<R> {
    return this.http.request<R>(r, opts);
  }

  private list<I>(path: string, params: object | undefined, opts?: RequestOptions): PagePromise<I> {
    const { cursor, ...rest } = (params ?? {}) as { cursor?: string } & Record<string, unknown>;
    return new PagePromise<I>(
      (c) => this.req<Page<I>>({ method: 'GET', path, query: { ...(rest as ApiRequest['query']), cursor: c } }, opts),
      cursor,
    );
  }

  /* ------------------------------------------------------------------ operations */

  /** `GET /healthz`: whether the API, its database and Temporal are up (a 503 throws `ServiceUnavailableError`). */
  health(opts?: RequestOptions): Promise<T.Health> {
    return this.req({ method: 'GET', path: '/healthz' }, opts);
  }

  /** `GET /`: the API's name, version and where its docs, OpenAPI document, health and Temporal UI are. */
  info(opts?: RequestOptions): Promise<T.ApiInfo> {
    return this.req({ method: 'GET', path: '/' }, opts);
  }

  /* ------------------------------------------------------------------ runners */

  createRunner(params: T.RunnerCreateParams, opts?: RequestOptions): Promise<T.Runner> {
    return this.req({ method: 'POST', path: '/api/runners', body: params }, opts);
  }
  /** A runner with its ordered `steps` and its `triggers`. */
  getRunner(runnerId: string, opts?: RequestOptions): Promise<T.Runner> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}` }, opts);
  }
  listRunners(params?: ListParams, opts?: RequestOptions): PagePromise<T.Runner> {
    return this.list('/api/runners', params, opts);
  }
  updateRunner(runnerId: string, params: T.RunnerUpdateParams, opts?: RequestOptions): Promise<T.Runner> {
    return this.req({ method: 'PATCH', path: `/api/runners/${enc(runnerId)}`, body: params }, opts);
  }
  /** Deletes the runner and its schedules; runs in flight finish. */
  deleteRunner(runnerId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/runners/${enc(runnerId)}` }, opts);
  }

  /* ------------------------------------------------------------------ steps */

  addRunnerStep(runnerId: string, params: T.StepCreateParams, opts?: RequestOptions): Promise<T.Step> {
    return this.req({ method: 'POST', path: `/api/runners/${enc(runnerId)}/steps`, body: params }, opts);
  }
  /** The runner's steps in run order (one page holds them all). */
  listRunnerSteps(runnerId: string, opts?: RequestOptions): PagePromise<T.Step> {
    return this.list(`/api/runners/${enc(runnerId)}/steps`, undefined, opts);
  }
  updateRunnerStep(
    runnerId: string,
    stepId: string,
    params: T.StepUpdateParams,
    opts?: RequestOptions,
  ): Promise<T.Step> {
    return this.req(
      { method: 'PATCH', path: `/api/runners/${enc(runnerId)}/steps/${enc(stepId)}`, body: params },
      opts,
    );
  }
  removeRunnerStep(runnerId: string, stepId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/runners/${enc(runnerId)}/steps/${enc(stepId)}` }, opts);
  }

  /* ------------------------------------------------------------------ triggers */

  /**
   * Adds a trigger: `{kind: 'cron', cronExpression, cronTimezone?}`, `{kind: 'webhook'}` (answers `token` and `url`),
   * `{kind: 'poll', pollConfig}`, `{kind: 'button'}`. The answer is typed for the kind asked for.
   */
  addRunnerTrigger<P extends T.TriggerCreateParams>(
    runnerId: string,
    params: P,
    opts?: RequestOptions,
  ): Promise<Extract<T.TriggerCreated, { kind: P['kind'] }>> {
    return this.req({ method: 'POST', path: `/api/runners/${enc(runnerId)}/triggers`, body: params }, opts);
  }
  updateRunnerTrigger(
    runnerId: string,
    triggerId: string,
    params: T.TriggerUpdateParams,
    opts?: RequestOptions,
  ): Promise<T.Trigger> {
    return this.req(
      { method: 'PATCH', path: `/api/runners/${enc(runnerId)}/triggers/${enc(triggerId)}`, body: params },
      opts,
    );
  }
  removeRunnerTrigger(runnerId: string, triggerId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/runners/${enc(runnerId)}/triggers/${enc(triggerId)}` }, opts);
  }
  /** The runner's triggers (secrets masked). */
  listRunnerTriggers(runnerId: string, params?: T.TriggerListParams, opts?: RequestOptions): PagePromise<T.Trigger> {
    return this.list(`/api/runners/${enc(runnerId)}/triggers`, params, opts);
  }
  getRunnerTrigger(runnerId: string, triggerId: string, opts?: RequestOptions): Promise<T.Trigger> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/triggers/${enc(triggerId)}` }, opts);
  }
  /**
   * Delivers a payload to a webhook trigger (the public `POST /api/runners/webhooks/:token`, as a
   * sender would): `body` is sent byte for byte when it is a string or bytes (so a signature over the
   * raw body holds), else as JSON; `headers` carries e.g. the signature header. Answers the run's id.
   */
  deliverWebhook(
    token: string,
    body: unknown,
    headers?: Record<string, string>,
    opts?: RequestOptions,
  ): Promise<T.WebhookDelivery> {
    const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body ?? {});
    return this.req(
      { method: 'POST', path: `/api/runners/webhooks/${enc(token)}`, rawBody: raw },
      { ...opts, headers: { ...opts?.headers, ...headers } },
    );
  }

  /* ------------------------------------------------------------------ buttons (public routes) */

  /** The HTML page with the runner's button (only while it has an enabled button trigger). */
  getButtonPage(runnerId: string, opts?: RequestOptions): Promise<string> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/button`, responseType: 'text' }, opts);
  }
  /** The script that renders the button in any page. */
  getButtonEmbedScript(runnerId: string, opts?: RequestOptions): Promise<string> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/embed.js`, responseType: 'text' }, opts);
  }
  /** Starts a run as the button does (needs the page's or script's start token and an allowed `Origin` header). */
  startButtonRun(runnerId: string, params: T.ButtonRunParams, opts?: RequestOptions): Promise<T.ButtonRun> {
    return this.req({ method: 'POST', path: `/api/runners/${enc(runnerId)}/button/runs`, body: params }, opts);
  }
  /** The status of a run started by a button, read with the `statusToken` its start answered. */
  getButtonRunStatus(
    runnerId: string,
    runId: string,
    statusToken: string,
    opts?: RequestOptions,
  ): Promise<T.ButtonRunStatus> {
    return this.req(
      { method: 'GET', path: `/api/runners/${enc(runnerId)}/button/runs/${enc(runId)}`, query: { token: statusToken } },
      opts,
    );
  }

  /* ------------------------------------------------------------------ runs */

  /**
   * Starts a run. With `idempotencyKey`, a second call with the same key answers the same run. Without
   * one the client still sends an `Idempotency-Key` header (made up once, repeated on every retry), so
   * a retried request never starts a second run.
   */
  triggerRun(runnerId: string, params: T.RunCreateParams = {}, opts?: RequestOptions): Promise<T.Run> {
    const key = opts?.idempotencyKey ?? params.idempotencyKey;
    return this.req(
      { method: 'POST', path: `/api/runners/${enc(runnerId)}/runs`, body: params, retry: 'idempotencyKey' },
      { ...opts, idempotencyKey: key },
    );
  }

  /**
   * Starts up to 10 000 runs in one request (`{items: [{input, idempotencyKey?}]}` or just the array).
   * Items without an `idempotencyKey` get `<batch key>:<index>` so a retried request starts no run twice.
   */
  triggerRunBulk(
    runnerId: string,
    params: T.RunBulkParams | T.RunCreateParams[],
    opts?: RequestOptions,
  ): Promise<T.RunBulkResult> {
    const items = Array.isArray(params) ? params : params.items;
    const batch = opts?.idempotencyKey ?? randomKey();
    const keyed = items.map((it, i) => (it.idempotencyKey ? it : { ...it, idempotencyKey: `${batch}:${i}` }));
    return this.req(
      { method: 'POST', path: `/api/runners/${enc(runnerId)}/runs/bulk`, body: { items: keyed }, retry: 'idempotent' },
      opts,
    );
  }
  /** The status of up to 1 000 runs of a runner by id (e.g. to wait for a bulk import). */
  getRunsStatus(runnerId: string, ids: string[], opts?: RequestOptions): Promise<T.RunBulkStatus> {
    const body: T.RunBulkStatusParams = { ids };
    return this.req(
      { method: 'POST', path: `/api/runners/${enc(runnerId)}/runs/bulk/status`, body, retry: 'idempotent' },
      opts,
    );
  }
  getRun(runnerId: string, runId: string, opts?: RequestOptions): Promise<T.Run> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/runs/${enc(runId)}` }, opts);
  }
  /** A runner's runs, newest first; `status` filters. */
  listRuns(runnerId: string, params?: T.RunListParams, opts?: RequestOptions): PagePromise<T.Run> {
    return this.list(`/api/runners/${enc(runnerId)}/runs`, params, opts);
  }
  /** Cancels a run (a `ConflictError` when it has already ended). */
  cancelRun(runnerId: string, runId: string, opts?: RequestOptions): Promise<T.Run> {
    return this.req({ method: 'POST', path: `/api/runners/${enc(runnerId)}/runs/${enc(runId)}/cancel` }, opts);
  }
  /** Resumes a run paused by its budget, optionally raising the budget (a `ConflictError` unless `paused_budget`). */
  resumeRun(runnerId: string, runId: string, params: T.RunResumeParams = {}, opts?: RequestOptions): Promise<T.Run> {
    return this.req(
      { method: 'POST', path: `/api/runners/${enc(runnerId)}/runs/${enc(runId)}/resume`, body: params },
      opts,
    );
  }

  /**
   * Polls a run until it is `completed`, `failed`, `cancelled` or `paused_budget` (or the statuses in
   * `until`) and returns it. Throws `TimeoutError` after `timeoutMs`, `AbortError` when `signal` fires.
   */
  async waitForRun(runnerId: string, runId: string, options: WaitForRunOptions = {}): Promise<T.Run> {
    const timeoutMs = options.timeoutMs ?? 10 * 60_000;
    const until = options.until ?? SETTLED_RUN_STATUSES;
    const deadline = Date.now() + timeoutMs;
    let interval = options.pollIntervalMs ?? 250;
    const maxInterval = options.maxPollIntervalMs ?? 2_000;
    for (;;) {
      if (options.signal?.aborted)
        throw new AbortError('waitForRun was aborted', { code: 'aborted', cause: options.signal.reason });
      const left = deadline - Date.now();
      const run = await this.getRun(runnerId, runId, {
        signal: options.signal,
        timeout: Math.max(1_000, Math.min(left, 60_000)),
      });
      if (until.includes(run.status)) return run;
      if (Date.now() + interval > deadline) {
        throw new TimeoutError(`Run ${runId} is still ${run.status} after ${timeoutMs} ms`, {
          code: 'timeout',
          details: { status: run.status },
        });
      }
      await sleep(interval, options.signal);
      interval = Math.min(maxInterval, Math.round(interval * 1.5));
    }
  }

  /* ------------------------------------------------------------------ analytics */

  /** Cost and outcome analytics of one runner (`cost_by_model` sorted by cost, `daily`, `summary`). */
  getRunnerAnalytics(
    runnerId: string,
    params: T.AnalyticsParams = {},
    opts?: RequestOptions,
  ): Promise<T.RunnerAnalytics> {
    return this.req(
      { method: 'GET', path: `/api/runners/${enc(runnerId)}/analytics`, query: { period: params.period } },
      opts,
    );
  }
  /** Org-wide analytics (`by_model`, `daily`, `by_agent`, `top_tools`, `summary`). */
  getAnalytics(params: T.AnalyticsParams = {}, opts?: RequestOptions): Promise<T.OrgAnalytics> {
    return this.req({ method: 'GET', path: '/api/analytics', query: { period: params.period } }, opts);
  }

  /* ------------------------------------------------------------------ runner connections */

  attachRunnerMcp(runnerId: string, mcpServerId: string, opts?: RequestOptions): Promise<T.RunnerMcpAttachment> {
    return this.attach(runnerId, 'mcps', { mcpServerId }, opts);
  }
  detachRunnerMcp(runnerId: string, mcpServerId: string, opts?: RequestOptions): Promise<void> {
    return this.detach(runnerId, 'mcps', mcpServerId, opts);
  }
  listRunnerMcps(runnerId: string, params?: ListParams, opts?: RequestOptions): PagePromise<T.RunnerMcpAttachment> {
    return this.list(`/api/runners/${enc(runnerId)}/mcps`, params, opts);
  }
  attachRunnerIntegration(
    runnerId: string,
    integrationId: string,
    opts?: RequestOptions,
  ): Promise<T.RunnerIntegrationAttachment> {
    return this.attach(runnerId, 'integrations', { integrationId }, opts);
  }
  detachRunnerIntegration(runnerId: string, integrationId: string, opts?: RequestOptions): Promise<void> {
    return this.detach(runnerId, 'integrations', integrationId, opts);
  }
  listRunnerIntegrations(
    runnerId: string,
    params?: ListParams,
    opts?: RequestOptions,
  ): PagePromise<T.RunnerIntegrationAttachment> {
    return this.list(`/api/runners/${enc(runnerId)}/integrations`, params, opts);
  }
  attachRunnerTool(runnerId: string, toolId: string, opts?: RequestOptions): Promise<T.RunnerToolAttachment> {
    return this.attach(runnerId, 'tools', { toolId }, opts);
  }
  detachRunnerTool(runnerId: string, toolId: string, opts?: RequestOptions): Promise<void> {
    return this.detach(runnerId, 'tools', toolId, opts);
  }
  listRunnerTools(runnerId: string, params?: ListParams, opts?: RequestOptions): PagePromise<T.RunnerToolAttachment> {
    return this.list(`/api/runners/${enc(runnerId)}/tools`, params, opts);
  }
  attachRunnerSkill(runnerId: string, skillId: string, opts?: RequestOptions): Promise<T.RunnerSkillAttachment> {
    return this.attach(runnerId, 'skills', { skillId }, opts);
  }
  detachRunnerSkill(runnerId: string, skillId: string, opts?: RequestOptions): Promise<void> {
    return this.detach(runnerId, 'skills', skillId, opts);
  }
  listRunnerSkills(runnerId: string, params?: ListParams, opts?: RequestOptions): PagePromise<T.RunnerSkillAttachment> {
    return this.list(`/api/runners/${enc(runnerId)}/skills`, params, opts);
  }

  private attach<R>(runnerId: string, kind: string, body: Record<string, string>, opts?: RequestOptions): Promise<R> {
    // Attaching is idempotent (an existing attachment is answered as is), so it is safe to retry.
    return this.req({ method: 'POST', path: `/api/runners/${enc(runnerId)}/${kind}`, body, retry: 'idempotent' }, opts);
  }
  private detach(runnerId: string, kind: string, id: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/runners/${enc(runnerId)}/${kind}/${enc(id)}` }, opts);
  }

  getRunnerWebConfig(runnerId: string, opts?: RequestOptions): Promise<T.WebConfig> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/web-config` }, opts);
  }
  /** Fields left out keep their value. */
  updateRunnerWebConfig(runnerId: string, params: T.WebConfigParams, opts?: RequestOptions): Promise<T.WebConfig> {
    return this.req({ method: 'PUT', path: `/api/runners/${enc(runnerId)}/web-config`, body: params }, opts);
  }
  getRunnerPlanConfig(runnerId: string, opts?: RequestOptions): Promise<T.PlanConfig> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/plan-config` }, opts);
  }
  updateRunnerPlanConfig(runnerId: string, params: T.PlanConfigParams, opts?: RequestOptions): Promise<T.PlanConfig> {
    return this.req({ method: 'PUT', path: `/api/runners/${enc(runnerId)}/plan-config`, body: params }, opts);
  }
  getRunnerBudget(runnerId: string, opts?: RequestOptions): Promise<T.BudgetConfig> {
    return this.req({ method: 'GET', path: `/api/runners/${enc(runnerId)}/budget` }, opts);
  }
  /** `{enabled, budgetUsd, onExceed: 'pause' | 'fail', warningThreshold1?, warningThreshold2?}`; new runs inherit it. */
  updateRunnerBudget(runnerId: string, params: T.BudgetConfigParams, opts?: RequestOptions): Promise<T.BudgetConfig> {
    return this.req({ method: 'PUT', path: `/api/runners/${enc(runnerId)}/budget`, body: params }, opts);
  }

  /* ------------------------------------------------------------------ knowledge */

  /** Uploads and indexes a document (multipart), scoped to the org or to one runner. */
  uploadKnowledge(params: T.KnowledgeUploadParams, opts?: RequestOptions): Promise<T.KnowledgeDoc> {
    const { file, filename, contentType, ...fields } = params;
    const blob =
      file instanceof Blob
        ? contentType && contentType !== file.type
          ? new Blob([file], { type: contentType })
          : file
        : new Blob(
            [file] as unknown as ConstructorParameters<typeof Blob>[0],
            contentType ? { type: contentType } : {},
          );
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) form.set(k, String(v));
    form.set('file', blob, filename ?? ((file as { name?: unknown }).name as string | undefined) ?? 'document.txt');
    return this.req({ method: 'POST', path: '/api/knowledge/upload', form }, opts);
  }
  listKnowledge(params?: T.KnowledgeListParams, opts?: RequestOptions): PagePromise<T.KnowledgeDoc> {
    return this.list('/api/knowledge', params, opts);
  }
  getKnowledge(docId: string, opts?: RequestOptions): Promise<T.KnowledgeDoc> {
    return this.req({ method: 'GET', path: `/api/knowledge/${enc(docId)}` }, opts);
  }
  deleteKnowledge(docId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/knowledge/${enc(docId)}` }, opts);
  }
  /** The best chunks for `q` among org documents (plus `runnerId`'s own). */
  searchKnowledge(params: T.KnowledgeSearchParams, opts?: RequestOptions): Promise<Page<T.KnowledgeHit>> {
    return this.req({ method: 'GET', path: '/api/knowledge/search', query: params }, opts);
  }

  /* ------------------------------------------------------------------ org resources */

  createAgent(params: T.AgentCreateParams, opts?: RequestOptions): Promise<T.Agent> {
    return this.req({ method: 'POST', path: '/api/agents', body: params }, opts);
  }
  getAgent(agentId: string, opts?: RequestOptions): Promise<T.Agent> {
    return this.req({ method: 'GET', path: `/api/agents/${enc(agentId)}` }, opts);
  }
  listAgents(params?: ListParams, opts?: RequestOptions): PagePromise<T.Agent> {
    return this.list('/api/agents', params, opts);
  }
  updateAgent(agentId: string, params: T.AgentUpdateParams, opts?: RequestOptions): Promise<T.Agent> {
    return this.req({ method: 'PATCH', path: `/api/agents/${enc(agentId)}`, body: params }, opts);
  }
  deleteAgent(agentId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/agents/${enc(agentId)}` }, opts);
  }

  createMcpServer(params: T.McpServerCreateParams, opts?: RequestOptions): Promise<T.McpServer> {
    return this.req({ method: 'POST', path: '/api/mcp-servers', body: params }, opts);
  }
  getMcpServer(mcpServerId: string, opts?: RequestOptions): Promise<T.McpServer> {
    return this.req({ method: 'GET', path: `/api/mcp-servers/${enc(mcpServerId)}` }, opts);
  }
  listMcpServers(params?: ListParams, opts?: RequestOptions): PagePromise<T.McpServer> {
    return this.list('/api/mcp-servers', params, opts);
  }
  updateMcpServer(mcpServerId: string, params: T.McpServerUpdateParams, opts?: RequestOptions): Promise<T.McpServer> {
    return this.req({ method: 'PATCH', path: `/api/mcp-servers/${enc(mcpServerId)}`, body: params }, opts);
  }
  deleteMcpServer(mcpServerId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/mcp-servers/${enc(mcpServerId)}` }, opts);
  }

  createIntegration(params: T.IntegrationCreateParams, opts?: RequestOptions): Promise<T.Integration> {
    return this.req({ method: 'POST', path: '/api/integrations', body: params }, opts);
  }
  getIntegration(integrationId: string, opts?: RequestOptions): Promise<T.Integration> {
    return this.req({ method: 'GET', path: `/api/integrations/${enc(integrationId)}` }, opts);
  }
  listIntegrations(params?: ListParams, opts?: RequestOptions): PagePromise<T.Integration> {
    return this.list('/api/integrations', params, opts);
  }
  updateIntegration(
    integrationId: string,
    params: T.IntegrationUpdateParams,
    opts?: RequestOptions,
  ): Promise<T.Integration> {
    return this.req({ method: 'PATCH', path: `/api/integrations/${enc(integrationId)}`, body: params }, opts);
  }
  deleteIntegration(integrationId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/integrations/${enc(integrationId)}` }, opts);
  }

  createTool(params: T.ToolCreateParams, opts?: RequestOptions): Promise<T.Tool> {
    return this.req({ method: 'POST', path: '/api/tools', body: params }, opts);
  }
  getTool(toolId: string, opts?: RequestOptions): Promise<T.Tool> {
    return this.req({ method: 'GET', path: `/api/tools/${enc(toolId)}` }, opts);
  }
  listTools(params?: ListParams, opts?: RequestOptions): PagePromise<T.Tool> {
    return this.list('/api/tools', params, opts);
  }
  updateTool(toolId: string, params: T.ToolUpdateParams, opts?: RequestOptions): Promise<T.Tool> {
    return this.req({ method: 'PATCH', path: `/api/tools/${enc(toolId)}`, body: params }, opts);
  }
  deleteTool(toolId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/tools/${enc(toolId)}` }, opts);
  }

  createSkill(params: T.SkillCreateParams, opts?: RequestOptions): Promise<T.Skill> {
    return this.req({ method: 'POST', path: '/api/skills', body: params }, opts);
  }
  getSkill(skillId: string, opts?: RequestOptions): Promise<T.Skill> {
    return this.req({ method: 'GET', path: `/api/skills/${enc(skillId)}` }, opts);
  }
  listSkills(params?: ListParams, opts?: RequestOptions): PagePromise<T.Skill> {
    return this.list('/api/skills', params, opts);
  }
  updateSkill(skillId: string, params: T.SkillUpdateParams, opts?: RequestOptions): Promise<T.Skill> {
    return this.req({ method: 'PATCH', path: `/api/skills/${enc(skillId)}`, body: params }, opts);
  }
  deleteSkill(skillId: string, opts?: RequestOptions): Promise<void> {
    return this.req({ method: 'DELETE', path: `/api/skills/${enc(skillId)}` }, opts);
  }
}

function randomKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}
