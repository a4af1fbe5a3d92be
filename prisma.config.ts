import { defineConfig } from 'prisma/config';

// The Prisma CLI's configuration. The runtime never reads it: the app builds its client from
// DATABASE_URL with @prisma/adapter-pg (see src/db/client.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/flapjack' },
});
