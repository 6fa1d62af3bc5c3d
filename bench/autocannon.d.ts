// The slice of autocannon's programmatic API the bench uses (the package ships no types).
declare module 'autocannon' {
  type Histogram = { average: number; mean: number; p50: number; p90: number; p99: number; max: number };
  type Request = { method?: string; path?: string; setupRequest?: (request: { method: string; path: string }, context: object) => object };
  type Options = { url: string; connections?: number; duration?: number; amount?: number; requests?: Request[]; pipelining?: number; warmup?: { connections?: number; duration?: number } };
  type Result = { latency: Histogram; requests: Histogram & { total: number }; non2xx: number; errors: number; timeouts: number; duration: number };
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
