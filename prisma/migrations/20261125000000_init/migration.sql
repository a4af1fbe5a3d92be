-- The data model of prisma/schema.prisma.

CREATE TABLE "orgs" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "orgs_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "orgs_name_key" ON "orgs"("name");

CREATE TABLE "org_members" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'member',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "org_members_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "org_members_org_id_user_id_key" ON "org_members"("org_id", "user_id");

CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL DEFAULT 'default',
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");
CREATE INDEX "api_keys_org_id_idx" ON "api_keys"("org_id");

CREATE TABLE "agents" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "preamble" TEXT NOT NULL DEFAULT '',
    "model" TEXT,
    "web_config" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "agents_org_id_idx" ON "agents"("org_id");

CREATE TABLE "mcp_servers" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "transport" TEXT NOT NULL,
    "command" TEXT,
    "args" JSONB,
    "env_encrypted" TEXT,
    "url" TEXT,
    "headers_encrypted" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "mcp_servers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "mcp_servers_org_id_slug_key" ON "mcp_servers"("org_id", "slug");

CREATE TABLE "integrations" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "connection_encrypted" TEXT NOT NULL,
    "read_only" BOOLEAN NOT NULL DEFAULT true,
    "allowed_schemas" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "integrations_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "integrations_org_id_idx" ON "integrations"("org_id");

CREATE TABLE "tools" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "url" TEXT NOT NULL,
    "method" TEXT NOT NULL DEFAULT 'POST',
    "headers_encrypted" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tools_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "tools_org_id_name_key" ON "tools"("org_id", "name");

CREATE TABLE "skills" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "instructions" TEXT NOT NULL,
    "files" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "skills_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "skills_org_id_name_key" ON "skills"("org_id", "name");

CREATE TABLE "agent_mcps" (
    "agent_id" UUID NOT NULL,
    "mcp_server_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agent_mcps_pkey" PRIMARY KEY ("agent_id","mcp_server_id")
);

CREATE TABLE "agent_integrations" (
    "agent_id" UUID NOT NULL,
    "integration_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agent_integrations_pkey" PRIMARY KEY ("agent_id","integration_id")
);

CREATE TABLE "agent_tools" (
    "agent_id" UUID NOT NULL,
    "tool_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agent_tools_pkey" PRIMARY KEY ("agent_id","tool_id")
);

CREATE TABLE "knowledge_docs" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "scope_type" TEXT NOT NULL,
    "scope_id" UUID,
    "title" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "mime_type" TEXT NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "language" TEXT NOT NULL DEFAULT 'english',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "knowledge_docs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "knowledge_docs_org_id_scope_type_scope_id_idx" ON "knowledge_docs"("org_id", "scope_type", "scope_id");

CREATE TABLE "knowledge_chunks" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "doc_id" UUID NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "language" TEXT NOT NULL DEFAULT 'english',
    "tsv" tsvector,
    CONSTRAINT "knowledge_chunks_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "knowledge_chunks_doc_id_idx" ON "knowledge_chunks"("doc_id");

CREATE TABLE "runners" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "input_schema" JSONB,
    "learned_instructions" TEXT,
    "default_model" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    CONSTRAINT "runners_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "runners_org_id_created_at_idx" ON "runners"("org_id", "created_at");

CREATE TABLE "runner_steps" (
    "id" UUID NOT NULL,
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "order_index" INTEGER NOT NULL,
    "agent_id" UUID,
    "preamble_override" TEXT,
    "model_override" TEXT,
    "output_schema" JSONB,
    "input_mapping" JSONB,
    "webhook_url" TEXT,
    "webhook_headers" JSONB,
    "condition_expr" TEXT,
    "computer" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_steps_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "runner_steps_runner_id_name_key" ON "runner_steps"("runner_id", "name");
CREATE INDEX "runner_steps_runner_id_order_index_idx" ON "runner_steps"("runner_id", "order_index");

CREATE TABLE "runner_triggers" (
    "id" UUID NOT NULL,
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "config" JSONB NOT NULL DEFAULT '{}',
    "token_hash" TEXT,
    "token_prefix" TEXT,
    "schedule_id" TEXT,
    "poll_cursor" JSONB,
    "last_fired_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_triggers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "runner_triggers_token_hash_key" ON "runner_triggers"("token_hash");
CREATE INDEX "runner_triggers_runner_id_idx" ON "runner_triggers"("runner_id");

CREATE TABLE "runner_runs" (
    "id" UUID NOT NULL,
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "input" JSONB NOT NULL DEFAULT '{}',
    "output" JSONB,
    "context" JSONB,
    "current_step" INTEGER,
    "error" JSONB,
    "cost_usd" DECIMAL(14,6) NOT NULL DEFAULT 0,
    "budget_usd" DECIMAL(14,6),
    "budget_on_exceed" TEXT,
    "budget_paused_at" TIMESTAMPTZ(3),
    "idempotency_key" TEXT,
    "snapshot" JSONB NOT NULL,
    "trigger_kind" TEXT NOT NULL DEFAULT 'api',
    "trigger_id" UUID,
    "workflow_started_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "runner_runs_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "runner_runs_runner_id_idempotency_key_key" ON "runner_runs"("runner_id", "idempotency_key");
CREATE INDEX "runner_runs_runner_id_created_at_idx" ON "runner_runs"("runner_id", "created_at");
CREATE INDEX "runner_runs_org_id_status_idx" ON "runner_runs"("org_id", "status");

CREATE TABLE "runner_run_steps" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "step_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "order_index" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "input" JSONB,
    "output" JSONB,
    "error" JSONB,
    "cost_usd" DECIMAL(14,6) NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "runner_run_steps_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "runner_run_steps_run_id_name_key" ON "runner_run_steps"("run_id", "name");

CREATE TABLE "model_calls" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "runner_id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "step_name" TEXT NOT NULL,
    "call_key" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "input_tokens" INTEGER NOT NULL DEFAULT 0,
    "output_tokens" INTEGER NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(14,8) NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "model_calls_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "model_calls_call_key_key" ON "model_calls"("call_key");
CREATE INDEX "model_calls_runner_id_created_at_idx" ON "model_calls"("runner_id", "created_at");
CREATE INDEX "model_calls_org_id_created_at_idx" ON "model_calls"("org_id", "created_at");

CREATE TABLE "runner_mcps" (
    "runner_id" UUID NOT NULL,
    "mcp_server_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_mcps_pkey" PRIMARY KEY ("runner_id","mcp_server_id")
);

CREATE TABLE "runner_integrations" (
    "runner_id" UUID NOT NULL,
    "integration_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_integrations_pkey" PRIMARY KEY ("runner_id","integration_id")
);

CREATE TABLE "runner_tools" (
    "runner_id" UUID NOT NULL,
    "tool_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_tools_pkey" PRIMARY KEY ("runner_id","tool_id")
);

CREATE TABLE "runner_skills" (
    "runner_id" UUID NOT NULL,
    "skill_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_skills_pkey" PRIMARY KEY ("runner_id","skill_id")
);

CREATE TABLE "runner_web_config" (
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "search_enabled" BOOLEAN NOT NULL DEFAULT false,
    "research_enabled" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_web_config_pkey" PRIMARY KEY ("runner_id")
);

CREATE TABLE "runner_plan_config" (
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_plan_config_pkey" PRIMARY KEY ("runner_id")
);

CREATE TABLE "runner_budget_config" (
    "runner_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "budget_usd" DECIMAL(14,6),
    "on_exceed" TEXT NOT NULL DEFAULT 'pause',
    "warning_threshold1" DECIMAL(4,3) NOT NULL DEFAULT 0.80,
    "warning_threshold2" DECIMAL(4,3) NOT NULL DEFAULT 0.95,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "runner_budget_config_pkey" PRIMARY KEY ("runner_id")
);

ALTER TABLE "org_members" ADD CONSTRAINT "org_members_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agents" ADD CONSTRAINT "agents_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_mcps" ADD CONSTRAINT "agent_mcps_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_mcps" ADD CONSTRAINT "agent_mcps_mcp_server_id_fkey" FOREIGN KEY ("mcp_server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_integrations" ADD CONSTRAINT "agent_integrations_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_integrations" ADD CONSTRAINT "agent_integrations_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_tools" ADD CONSTRAINT "agent_tools_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agent_tools" ADD CONSTRAINT "agent_tools_tool_id_fkey" FOREIGN KEY ("tool_id") REFERENCES "tools"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "knowledge_chunks" ADD CONSTRAINT "knowledge_chunks_doc_id_fkey" FOREIGN KEY ("doc_id") REFERENCES "knowledge_docs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runners" ADD CONSTRAINT "runners_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_steps" ADD CONSTRAINT "runner_steps_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_triggers" ADD CONSTRAINT "runner_triggers_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_runs" ADD CONSTRAINT "runner_runs_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_run_steps" ADD CONSTRAINT "runner_run_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runner_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_calls" ADD CONSTRAINT "model_calls_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runner_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_mcps" ADD CONSTRAINT "runner_mcps_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_mcps" ADD CONSTRAINT "runner_mcps_mcp_server_id_fkey" FOREIGN KEY ("mcp_server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_integrations" ADD CONSTRAINT "runner_integrations_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_integrations" ADD CONSTRAINT "runner_integrations_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_tools" ADD CONSTRAINT "runner_tools_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_tools" ADD CONSTRAINT "runner_tools_tool_id_fkey" FOREIGN KEY ("tool_id") REFERENCES "tools"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_skills" ADD CONSTRAINT "runner_skills_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_skills" ADD CONSTRAINT "runner_skills_skill_id_fkey" FOREIGN KEY ("skill_id") REFERENCES "skills"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_web_config" ADD CONSTRAINT "runner_web_config_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_plan_config" ADD CONSTRAINT "runner_plan_config_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_budget_config" ADD CONSTRAINT "runner_budget_config_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
