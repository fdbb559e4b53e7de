import type { Phase } from '../contracts/loadtest';

interface Segment {
  readonly startS: number;
  readonly durationS: number;
  /** Rate at the start (req/s) and its slope (req/s²). */
  readonly rate: number;
  readonly slope: number;
  /** Arrivals due before the segment starts. */
  readonly arrivalsBefore: number;
}

/**
 * The open-model arrival schedule of a list of phases. The cumulative number of arrivals due by time t is
 * N(t) = ∫ rate, with the rate moving linearly within a phase; arrival k is due at N⁻¹(k + offset). That
 * spaces arrivals evenly at the instantaneous rate (no bursts at the start of each second), makes the
 * count of a phase exactly its integral (rounded), and with offset = (w + 0.5) / W lets W workers
 * interleave their arrivals instead of sending in lockstep.
 */
export class ArrivalSchedule {
  readonly durationSeconds: number;
  /** Arrivals the whole schedule calls for. */
  readonly totalArrivals: number;
  private readonly segments: Segment[] = [];
  private segment = 0;

  constructor(phases: readonly Phase[], private readonly offset = 0.5) {
    if (!(offset >= 0 && offset < 1)) throw new Error(`arrival offset must be in [0, 1), got ${offset}`);
    let startS = 0;
    let arrivals = 0;
    for (const p of phases) {
      if (!(p.durationSeconds > 0) || !(p.arrivalRate >= 0) || !((p.rampTo ?? 0) >= 0)) {
        throw new Error(`invalid phase ${JSON.stringify(p)}: durationSeconds must be > 0 and rates ≥ 0`);
      }
      const end = p.rampTo ?? p.arrivalRate;
      const slope = (end - p.arrivalRate) / p.durationSeconds;
      this.segments.push({ startS, durationS: p.durationSeconds, rate: p.arrivalRate, slope, arrivalsBefore: arrivals });
      arrivals += p.durationSeconds * (p.arrivalRate + end) / 2;
      startS += p.durationSeconds;
    }
    this.durationSeconds = startS;
    // Arrival k exists when k + offset ≤ N(end), i.e. k < N(end) − offset + 1.
    this.totalArrivals = Math.max(0, Math.floor(arrivals - offset + 1 + 1e-9));
  }

  /** Arrivals due by `s` seconds into the schedule (fractional). */
  arrivalsBy(s: number): number {
    if (this.segments.length === 0 || s <= 0) return 0;
    const seg = this.segmentAt(s);
    const t = Math.min(s, seg.startS + seg.durationS) - seg.startS;
    return seg.arrivalsBefore + seg.rate * t + (seg.slope * t * t) / 2;
  }

  /** The rate asked for at `s` seconds (req/s); 0 outside the schedule. */
  rateAt(s: number): number {
    if (s < 0 || s > this.durationSeconds || this.segments.length === 0) return 0;
    const seg = this.segmentAt(s);
    return seg.rate + seg.slope * (s - seg.startS);
  }

  /**
   * Time (s from the start) at which arrival `k` is due. Calls must come with k non-decreasing (the engine
   * walks arrivals in order), which keeps this O(1).
   */
  timeOf(k: number): number {
    const n = k + this.offset;
    while (this.segment < this.segments.length - 1 && this.segments[this.segment + 1].arrivalsBefore <= n) this.segment++;
    const seg = this.segments[this.segment];
    const m = n - seg.arrivalsBefore;
    // Solve rate·t + slope·t²/2 = m; this form is stable for either sign of the slope and for slope 0.
    const disc = seg.rate * seg.rate + 2 * seg.slope * m;
    const t = m <= 0 ? 0 : (2 * m) / (seg.rate + Math.sqrt(Math.max(0, disc)));
    return seg.startS + Math.min(Number.isFinite(t) ? t : seg.durationS, seg.durationS);
  }

  private segmentAt(s: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid].startS <= s) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo];
  }
}

/** Mean rate a list of phases asks for (req/s). */
export function meanRate(phases: readonly Phase[]): number {
  const s = new ArrivalSchedule(phases);
  return s.durationSeconds > 0 ? s.arrivalsBy(s.durationSeconds) / s.durationSeconds : 0;
}

/** Highest rate any phase asks for (req/s). */
export function peakRate(phases: readonly Phase[]): number {
  return phases.reduce((m, p) => Math.max(m, p.arrivalRate, p.rampTo ?? p.arrivalRate), 0);
}
