import { Code, ConnectError } from "@connectrpc/connect";

/** A local model's answer. */
export interface LlmOutcome {
  /** Generated text. */
  output: string;
  /** The model that answered. */
  modelUsed: string;
  /** Tokens generated (the endpoint's `eval_count`, else a word count). */
  tokensGenerated: number;
}

/** How long a local model may take to answer, ms. */
const LLM_TIMEOUT_MS = 120_000;

/**
 * Asks an Ollama-style endpoint (`POST <endpoint>/api/generate`, `stream: false`) to
 * complete `prompt`.
 *
 * @throws {ConnectError} UNAVAILABLE when the endpoint cannot be reached or answers an
 *   error status, INTERNAL when its answer is not the Ollama shape.
 */
export async function generate(
  endpoint: string,
  model: string,
  prompt: string,
  maxTokens: number,
): Promise<LlmOutcome> {
  const url = `${endpoint.replace(/\/+$/, "")}/api/generate`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model,
        prompt,
        stream: false,
        ...(maxTokens > 0 ? { options: { num_predict: maxTokens } } : {}),
      }),
      signal: AbortSignal.timeout(LLM_TIMEOUT_MS),
    });
  } catch (err) {
    throw new ConnectError(`local model at ${endpoint} unreachable: ${String(err)}`, Code.Unavailable);
  }
  const text = await res.text();
  if (!res.ok)
    throw new ConnectError(
      `local model at ${endpoint} answered ${res.status}: ${text.slice(0, 200)}`,
      Code.Unavailable,
    );
  let body: { response?: unknown; model?: unknown; eval_count?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ConnectError(`local model at ${endpoint} answered something that is not JSON`, Code.Internal);
  }
  if (typeof body.response !== "string")
    throw new ConnectError(`local model at ${endpoint} answered without a "response" string`, Code.Internal);
  const output = body.response;
  return {
    output,
    modelUsed: typeof body.model === "string" ? body.model : model,
    tokensGenerated: typeof body.eval_count === "number" ? body.eval_count : output.split(/\s+/).filter(Boolean).length,
  };
}
