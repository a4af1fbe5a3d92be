import type { Request, Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { AppError } from '../../src/errors/app-error';
import type { ServiceDeps } from '../../src/services/deps';
import {
  deleteKnowledgeDoc,
  getKnowledgeDoc,
  KNOWLEDGE_LIMITS,
  listKnowledgeDocs,
  searchKnowledge,
  uploadKnowledge,
  type KnowledgeOptions,
} from '../../src/services/knowledge';
import {
  knowledgeDocResponseSchema,
  knowledgeHitSchema,
  knowledgeListQuerySchema,
  knowledgeSearchQuerySchema,
  knowledgeUploadFieldsSchema,
} from '../../src/shared/connection-schemas';
import { errorResponseSchema, listResponseSchema } from '../../src/shared/schemas';
import type { RouteRegistry } from '../route';
import { parseOrThrow } from '../validation';
import { requireUuid } from './params';

/** Runs multer for one file field `file` in memory, mapping its limit errors to the API's errors. */
function receiveUpload(maxFileBytes: number) {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxFileBytes, files: 1, fields: 10, fieldSize: 10_000, parts: 12 },
  }).single('file');
  return (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      upload(req, res, (err: unknown) => {
        if (!err) return resolve();
        if (err instanceof multer.MulterError) {
          const mb = Math.round(maxFileBytes / 1024 / 1024);
          switch (err.code) {
            case 'LIMIT_FILE_SIZE':
              return reject(new AppError('payload_too_large', `file is larger than the limit of ${mb} MB`));
            case 'LIMIT_UNEXPECTED_FILE':
            case 'LIMIT_FILE_COUNT':
              return reject(
                AppError.validation([
                  {
                    path: err.field || 'file',
                    message: 'unexpected file: send exactly one document in the field "file"',
                  },
                ]),
              );
            default:
              return reject(AppError.validation([{ path: err.field || 'body', message: err.message }]));
          }
        }
        reject(new AppError('bad_request', 'Malformed multipart/form-data body'));
      });
    });
}

/**
 * `/api/knowledge`: multipart upload (`file`, `scopeType`, `scopeId`, `title`, optional `language`),
 * list, get, delete, and full-text search.
 */
export function registerKnowledgeRoutes(reg: RouteRegistry, deps: ServiceDeps, opts: KnowledgeOptions = {}): void {
  const maxFileBytes = opts.maxFileBytes ?? KNOWLEDGE_LIMITS.maxFileBytes;
  const receive = receiveUpload(maxFileBytes);
  const notFound = { description: 'No such document in your org', schema: errorResponseSchema };

  reg.add(
    {
      method: 'post',
      path: '/api/knowledge/upload',
      summary:
        'Upload a knowledge document (multipart/form-data: file, scopeType org|runner, scopeId, title, language?). ' +
        `Text, Markdown, JSON, CSV or PDF up to ${Math.round(maxFileBytes / 1024 / 1024)} MB.`,
      tag: 'knowledge',
      rawBody: {
        contentType: 'multipart/form-data',
        schema: knowledgeUploadFieldsSchema.extend({
          file: z.string().meta({ format: 'binary' }).describe('the document (text, Markdown, JSON, CSV or PDF)'),
        }),
      },
      responses: {
        201: { description: 'The indexed document', schema: knowledgeDocResponseSchema },
        404: { description: 'scopeId is not a runner of your org', schema: errorResponseSchema },
        413: { description: 'The file is too large', schema: errorResponseSchema },
        422: { description: 'Missing or unsupported file, or bad fields', schema: errorResponseSchema },
      },
    },
    async ({ req, res, principal }) => {
      await receive(req, res);
      const fields = parseOrThrow(knowledgeUploadFieldsSchema, req.body ?? {});
      const file = req.file;
      if (!file) {
        throw AppError.validation([
          { path: 'file', message: 'is required (send the document as multipart/form-data field "file")' },
        ]);
      }
      const doc = await uploadKnowledge(
        deps,
        principal.orgId,
        {
          file: { buffer: file.buffer, originalname: file.originalname, mimetype: file.mimetype, size: file.size },
          scopeType: fields.scopeType,
          scopeId: fields.scopeId,
          title: fields.title,
          language: fields.language,
        },
        { ...opts, maxFileBytes },
      );
      return { status: 201, body: doc };
    },
  );
  reg.add(
    {
      method: 'get',
      path: '/api/knowledge/search',
      summary:
        'Search knowledge: org-scoped documents plus those of runnerId, ranked (full-text, hybrid with vectors when configured)',
      tag: 'knowledge',
      query: knowledgeSearchQuerySchema,
      responses: {
        200: { description: 'The best chunks with their sources', schema: listResponseSchema(knowledgeHitSchema) },
        404: { description: 'runnerId is not a runner of your org', schema: errorResponseSchema },
      },
    },
    async ({ principal, query }) => ({ status: 200, body: await searchKnowledge(deps, principal.orgId, query, opts) }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/knowledge',
      summary: 'List knowledge documents (filter by scopeType and scopeId)',
      tag: 'knowledge',
      query: knowledgeListQuerySchema,
      responses: {
        200: { description: 'A page of documents', schema: listResponseSchema(knowledgeDocResponseSchema) },
      },
    },
    async ({ principal, query }) => ({ status: 200, body: await listKnowledgeDocs(deps, principal.orgId, query) }),
  );
  reg.add(
    {
      method: 'get',
      path: '/api/knowledge/:id',
      summary: 'Get a knowledge document',
      tag: 'knowledge',
      responses: { 200: { description: 'The document', schema: knowledgeDocResponseSchema }, 404: notFound },
    },
    async ({ principal, params }) => ({
      status: 200,
      body: await getKnowledgeDoc(deps, principal.orgId, requireUuid(params.id, 'Knowledge document')),
    }),
  );
  reg.add(
    {
      method: 'delete',
      path: '/api/knowledge/:id',
      summary: 'Delete a knowledge document and its chunks',
      tag: 'knowledge',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
    },
    async ({ principal, params }) => {
      await deleteKnowledgeDoc(deps, principal.orgId, requireUuid(params.id, 'Knowledge document'));
      return { status: 204 };
    },
  );
}
