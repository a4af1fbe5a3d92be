-- Optional vector search over knowledge chunks.
--
-- Full-text search (knowledge_chunks.tsv) always works. Where the pgvector extension is available on
-- the server, this migration enables it and adds `embedding vector` (no fixed dimension, so any
-- embedding model fits; `embedding_model` records which model produced a row's vector, and only
-- vectors of the query's model are compared). Where pgvector is not available the migration still
-- succeeds without the column, and the application detects that at run time and uses full-text search
-- alone. To add vector search later: install pgvector, then run the DO block below again.

ALTER TABLE "knowledge_chunks" ADD COLUMN IF NOT EXISTS "embedding_model" TEXT;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pgvector is not available on this server (%); knowledge search uses full-text search only', SQLERRM;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'ALTER TABLE knowledge_chunks ADD COLUMN IF NOT EXISTS embedding vector';
  END IF;
END
$$;
