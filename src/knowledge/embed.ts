/**
 * Knowledge, step 3 (optional): embedding chunks and queries. When an embedder is configured and the
 * `embedding` column exists (pgvector), chunks are embedded at upload and queries are also matched by cosine
 * distance (see `store.ts`).
 */

/** An embedding provider; when given and pgvector is there, retrieval is hybrid. */
export interface Embedder {
  /** Identifies the vector space; vectors of different models are never compared. */
  model: string;
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * An embedder for any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, llama.cpp).
 * The endpoint is operator configuration, not user input, so it is not egress-guarded.
 */
export function createOpenAiEmbedder(o: {
  apiKey?: string;
  baseUrl?: string;
  model: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Embedder {
  const base = (o.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const doFetch = o.fetch ?? fetch;
  return {
    model: o.model,
    async embed(texts) {
      const res = await doFetch(`${base}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, input: texts }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      if (!res.ok) throw new Error(`embedding request failed with HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { index: number; embedding: number[] }[] };
      const data = [...(body.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== texts.length) throw new Error('embedding response has the wrong number of vectors');
      return data.map((d) => d.embedding);
    },
  };
}
