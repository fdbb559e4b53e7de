export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before one trial call is let through (ms). */
  readonly openMs: number;
  readonly onStateChange?: (state: BreakerState) => void;
  readonly now?: () => number;
}

/**
 * Closed: calls go through; `failureThreshold` failures in a row open it. Open: calls are refused at once
 * (the caller goes on without the dependency) until `openMs` has passed; then one call is let through as a
 * probe (half-open): its success closes the breaker, its failure opens it for another `openMs`. One probe at a
 * time, so a dependency that hangs costs one waiting call per `openMs`, not one per request.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a call may go ahead now; true in the open state means the caller is the probe. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) {
      this.set('half-open');
      return true;
    }
    return false;
  }

  /** When the open breaker lets the next probe through (ms from now); 0 when it is not open. */
  msUntilProbe(): number {
    return this.current === 'open' ? Math.max(0, this.openedAt + this.options.openMs - this.now()) : 0;
  }

  success(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(): void {
    this.failures++;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.options.failureThreshold)) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  private set(state: BreakerState): void {
    this.current = state;
    this.options.onStateChange?.(state);
  }
}
