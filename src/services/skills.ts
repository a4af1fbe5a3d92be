import type { z } from 'zod';
import type { skillResponseSchema } from '../shared/connection-schemas';
import type { Prisma, Skill } from '../generated/prisma/client';
import { withOrg, type Tx } from '../db/scoped';
import { AppError } from '../errors/app-error';
import type { SkillCreate, SkillUpdate } from '../shared/connection-schemas';
import type { ResolvedSkill } from '../shared/step-config';
import type { ServiceDeps } from './deps';
import { afterCursor, decodeCursor, newestFirst, page } from '../db/pagination';

type SkillFile = { name: string; content: string; mimeType?: string };

/** Total size of a skill's files (characters), so one skill cannot grow without bound. */
const MAX_FILES_CHARS = 1_000_000;

export function serializeSkill(s: Skill) {
  return {
    id: s.id,
    name: s.name,
    instructions: s.instructions,
    files: (s.files as SkillFile[] | null) ?? [],
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  } satisfies z.input<typeof skillResponseSchema>;
}

export function toResolvedSkill(s: Skill): ResolvedSkill {
  return { id: s.id, name: s.name, instructions: s.instructions };
}

function checkFiles(files: SkillFile[] | undefined): void {
  if (!files) return;
  const total = files.reduce((n, f) => n + f.content.length, 0);
  if (total > MAX_FILES_CHARS) {
    throw AppError.validation([{ path: 'files', message: `must hold at most ${MAX_FILES_CHARS} characters in total` }]);
  }
}

export async function requireSkill(tx: Tx, id: string): Promise<Skill> {
  const s = await tx.skill.findFirst({ where: { id } });
  if (!s) throw AppError.notFound('Skill');
  return s;
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  const clash = await tx.skill.findFirst({
    where: { name, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (clash) throw AppError.conflict(`A skill named "${name}" already exists in your org`);
}

export async function createSkill(deps: ServiceDeps, orgId: string, body: SkillCreate) {
  checkFiles(body.files);
  return withOrg(deps.db, orgId, async (tx) => {
    await assertNameFree(tx, body.name);
    const s = await tx.skill.create({
      data: {
        orgId,
        name: body.name,
        instructions: body.instructions,
        files: (body.files ?? []) as Prisma.InputJsonValue,
      },
    });
    return serializeSkill(s);
  });
}

export async function listSkills(deps: ServiceDeps, orgId: string, q: { limit: number; cursor?: string }) {
  const cursor = decodeCursor(q.cursor);
  return withOrg(deps.db, orgId, async (tx) => {
    const rows = await tx.skill.findMany({ where: afterCursor(cursor), orderBy: newestFirst, take: q.limit + 1 });
    return page(rows, q.limit, serializeSkill);
  });
}

export async function getSkill(deps: ServiceDeps, orgId: string, id: string) {
  return withOrg(deps.db, orgId, async (tx) => serializeSkill(await requireSkill(tx, id)));
}

export async function updateSkill(deps: ServiceDeps, orgId: string, id: string, body: SkillUpdate) {
  checkFiles(body.files);
  return withOrg(deps.db, orgId, async (tx) => {
    const existing = await requireSkill(tx, id);
    if (body.name !== undefined && body.name !== existing.name) await assertNameFree(tx, body.name, id);
    const s = await tx.skill.update({
      where: { id },
      data: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.instructions !== undefined ? { instructions: body.instructions } : {}),
        ...(body.files !== undefined ? { files: body.files as Prisma.InputJsonValue } : {}),
      },
    });
    return serializeSkill(s);
  });
}

export async function deleteSkill(deps: ServiceDeps, orgId: string, id: string): Promise<void> {
  await withOrg(deps.db, orgId, async (tx) => {
    await requireSkill(tx, id);
    await tx.skill.delete({ where: { id } });
  });
}
