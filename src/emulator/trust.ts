/**
 * The "Trust This Computer?" dialog of one virtual iPhone: what the owner does (accept, deny, a
 * locked screen, or an answer after some seconds), switchable at run time.
 */
import type { TrustBehaviour } from './profile-types.js';

export type TrustAnswer = 'trusted' | 'pending' | 'denied' | 'locked';

export class TrustDialog {
  private behaviour: TrustBehaviour;
  /**
   * When the dialog appeared (ms), or undefined when none is on screen. There is one dialog per
   * phone, not per HostID: a host that has no pair record yet makes a new HostID on every attempt
   * (idevicepair pair), and the owner's answer must still reach the attempt that follows it.
   */
  private shownAt: number | undefined;

  constructor(
    behaviour: TrustBehaviour,
    private readonly now: () => number = Date.now,
  ) {
    this.behaviour = behaviour;
  }

  get mode(): TrustBehaviour {
    return this.behaviour;
  }

  /** Changes what the owner does; dialogs on screen start over. */
  set(behaviour: TrustBehaviour): void {
    this.behaviour = behaviour;
    this.shownAt = undefined;
  }

  /** The answer to a Pair request from a host the phone does not trust yet, right now. */
  ask(): TrustAnswer {
    const b = this.behaviour;
    switch (b.mode) {
      case 'accept':
        this.shownAt = undefined;
        return 'trusted';
      case 'deny':
        this.shownAt = undefined;
        return 'denied';
      case 'locked':
        return 'locked';
      case 'pending': {
        const t = this.now();
        this.shownAt ??= t;
        if (t - this.shownAt < b.seconds * 1000) return 'pending';
        this.shownAt = undefined; // answered: the next unknown host gets a new dialog
        return 'trusted';
      }
    }
  }
}
