/**
 * The agent's tools (MCP, custom HTTP, read-only SQL, knowledge, web, plan): see ../tool-types.ts.
 *
 * Intermediate state: the tools are being built (issue 9, tools half). Until then an agent step is
 * offered no tools, gets no knowledge context, and any tool call the model makes is answered with an
 * error result (the model sees it; the step goes on).
 */
import type { BuildKnowledgeContext, BuildToolset, ExecuteTool } from '../tool-types';

export const buildToolset: BuildToolset = async () => ({ tools: [], notes: [] });

export const executeTool: ExecuteTool = async (call) => ({
  content: `Unknown tool "${call.name}": no such tool is offered to this step`,
  isError: true,
});

export const knowledgeContext: BuildKnowledgeContext = async () => ({ text: '', sources: [] });
