import { createRoute, z } from '@hono/zod-openapi';
import type { Job } from '../../jobs/index.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { cursorQuery, DEFAULT_LIMIT, encodeCursor, limitQuery } from '../pagination.ts';
import { createRouter } from '../router.ts';
import { errorResponses, errorSchema } from '../schemas.ts';

const security = [{ bearerAuth: [] }];
const authErrors = {
  401: { description: 'missing, malformed, badly signed or expired token', content: { 'application/json': { schema: errorSchema } } },
  403: { description: 'a token without role "admin"', content: { 'application/json': { schema: errorSchema } } },
  404: { description: 'no such job, or admin routes off (no ADMIN_JWT_SECRET)', content: { 'application/json': { schema: errorSchema } } },
} as const;

const statuses = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
const jobSchema = z
  .object({
    id: z.string(),
    type: z.enum(['rebuild', 'resync', 'verify']),
    status: z.enum(statuses),
    params: z.record(z.string(), z.unknown()),
    progress: z.number().int().min(0).max(100),
    message: z.string().nullable(),
    result: z.unknown(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Job');

const blockNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const jobRequest = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('rebuild') }).strict(),
    z.object({ type: z.literal('resync'), from: blockNumber, to: blockNumber.optional() }).strict(),
    z.object({ type: z.literal('verify'), chamaId: z.string().regex(/^[1-9]\d{0,77}$/, 'must be a chama id (decimal)').optional(), repair: z.boolean().optional() }).strict(),
  ])
  .refine((j) => j.type !== 'resync' || j.to === undefined || j.to >= j.from, { message: 'to must not be below from', path: ['to'] })
  .openapi('JobRequest');

const jobId = z.object({ id: z.string().regex(/^[0-9a-zA-Z-]{1,64}$/, 'must be a job id').openapi({ param: { name: 'id', in: 'path' } }) });

const submit = createRoute({
  method: 'post',
  path: '/admin/jobs',
  summary: 'Queue a rebuild, resync or verify job',
  security,
  request: { body: { required: true, content: { 'application/json': { schema: jobRequest } } } },
  responses: { 202: { description: 'queued', content: { 'application/json': { schema: z.object({ jobId: z.string(), statusUrl: z.string() }) } } }, ...errorResponses, ...authErrors },
});
const get = createRoute({ method: 'get', path: '/admin/jobs/{id}', summary: 'One job', security, request: { params: jobId }, responses: { 200: { description: 'the job', content: { 'application/json': { schema: z.object({ data: jobSchema }) } } }, ...errorResponses, ...authErrors } });
const list = createRoute({
  method: 'get',
  path: '/admin/jobs',
  summary: 'Jobs, newest first',
  security,
  request: { query: z.object({ status: z.enum(statuses).optional(), limit: limitQuery, cursor: cursorQuery(z.tuple([z.string().datetime(), z.string().max(64)])) }).strict() },
  responses: { 200: { description: 'a page of jobs', content: { 'application/json': { schema: z.object({ data: z.array(jobSchema), nextCursor: z.string().nullable() }) } } }, ...errorResponses, ...authErrors },
});
const remove = createRoute({
  method: 'delete',
  path: '/admin/jobs/{id}',
  summary: 'Cancel a pending or running job; delete a finished one',
  security,
  request: { params: jobId },
  responses: { 200: { description: 'done', content: { 'application/json': { schema: z.object({ data: z.object({ id: z.string(), outcome: z.enum(['cancelled', 'deleted']) }) }) } } }, ...errorResponses, ...authErrors },
});

const syncState = z.object({ state: z.string(), paused: z.boolean(), headBlock: z.number().nullable(), indexedBlock: z.number().nullable(), finalizedBlock: z.number().nullable(), lastError: z.string().nullable(), config: z.record(z.string(), z.unknown()) }).openapi('SyncState');
const getSync = createRoute({ method: 'get', path: '/admin/sync', summary: 'Sync state and effective configuration', security, responses: { 200: { description: 'state', content: { 'application/json': { schema: syncState } } }, ...authErrors } });
const postSync = createRoute({
  method: 'post',
  path: '/admin/sync',
  summary: 'Pause, resume, or force a poll now',
  security,
  request: { body: { required: true, content: { 'application/json': { schema: z.object({ action: z.enum(['pause', 'resume', 'force']) }).strict() } } } },
  responses: { 200: { description: 'the new state', content: { 'application/json': { schema: syncState } } }, ...errorResponses, ...authErrors },
});

const present = (j: Job) => ({ id: j.id, type: j.type, status: j.status, params: j.params, progress: j.progress, message: j.message, result: j.result ?? null, createdAt: j.createdAt, startedAt: j.startedAt, finishedAt: j.finishedAt });

/** Operator routes (issue 4): jobs and sync control, behind `adminAuth`. Absent on read-only replicas. */
export function registerAdmin(deps: ApiDeps) {
  const admin = () => {
    if (!deps.admin) throw new ApiError(404, 'not_found', 'admin routes are served by the indexing process, not by a read-only replica');
    return deps.admin;
  };
  const state = () => {
    const { control, settings } = admin();
    const s = control.status();
    return { state: s.state === 'starting' ? 'syncing' : s.state, paused: s.state === 'paused', headBlock: s.headBlock, indexedBlock: s.cursor?.blockNumber ?? null, finalizedBlock: s.finalizedBlock, lastError: s.lastError, config: settings };
  };
  return createRouter()
    .openapi(submit, async (c) => {
      const body = c.req.valid('json');
      const { type, ...params } = body;
      const job = await admin().jobs.submit(type, params);
      c.get('logger').info({ job_id: job.id, type }, 'job queued');
      return c.json({ jobId: job.id, statusUrl: `/admin/jobs/${job.id}` }, 202);
    })
    .openapi(get, async (c) => {
      const job = await admin().jobs.get(c.req.valid('param').id);
      if (!job) throw notFound(`no job ${c.req.valid('param').id}`);
      return c.json({ data: present(job) }, 200);
    })
    .openapi(list, async (c) => {
      const { status, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
      const found = await admin().jobs.list({ status, limit: limit + 1, after: cursor ? { createdAt: cursor[0], id: cursor[1] } : undefined });
      const items = found.slice(0, limit);
      const last = items[items.length - 1];
      return c.json({ data: items.map(present), nextCursor: found.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null }, 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      const outcome = await admin().jobs.cancel(id);
      if (!outcome) throw notFound(`no job ${id}`);
      return c.json({ data: { id, outcome } }, 200);
    })
    .openapi(getSync, (c) => c.json(state(), 200))
    .openapi(postSync, (c) => {
      const { action } = c.req.valid('json');
      const { control } = admin();
      if (action === 'pause') control.pause();
      else if (action === 'resume') control.resume();
      else control.poke();
      c.get('logger').info({ action }, 'sync control');
      return c.json(state(), 200);
    });
}
