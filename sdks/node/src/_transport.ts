/** HTTP transports: the interface the client sends through, and the default one. */

/** One HTTP POST the client wants sent. */
export interface TransportRequest {
  /** `<baseUrl>/v1/batch`. */
  url: string;
  /** Authorization, Content-Type, Accept and User-Agent. */
  headers: Readonly<Record<string, string>>;
  /** The JSON body, already encoded. */
  body: string;
  /** Milliseconds the whole exchange may take (also enforced through `signal`). */
  timeout: number;
  /** Aborted on timeout, or when `close()` gives up on a request in flight. */
  signal: AbortSignal;
}

/** What a transport returns for one HTTP exchange, whatever its status. */
export interface TransportResponse {
  status: number;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  body: string;
}

/**
 * Sends one HTTP POST. Implement it to route requests your own way (a proxy
 * agent, a test double).
 *
 * `send` resolves with a {@link TransportResponse} for every HTTP answer,
 * 4xx and 5xx included, and rejects when no answer was received (connection
 * refused, DNS failure, timeout): the client retries those as network errors.
 * The client never has more than one request in flight.
 *
 * @example
 * ```ts
 * const transport: Transport = {
 *   async send({ url, headers, body, signal }) {
 *     const res = await myHttpClient.post(url, { headers, body, signal });
 *     return { status: res.status, headers: res.headers, body: await res.text() };
 *   },
 * };
 * const letter = new Letter({ apiKey, transport });
 * ```
 */
export interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>;
}

/**
 * The default transport: the built-in `fetch`, one POST per batch over
 * kept-alive connections. Redirects are never followed (a redirected POST
 * would lose its body): a 3xx is reported like any other error.
 *
 * @example
 * ```ts
 * const letter = new Letter({ apiKey, transport: new FetchTransport() });
 * ```
 */
export class FetchTransport implements Transport {
  async send(request: TransportRequest): Promise<TransportResponse> {
    const response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: request.signal,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { status: response.status, headers, body: await response.text() };
  }
}
