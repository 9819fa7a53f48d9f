/**
 * The "Trust This Computer?" dialog of one virtual iPhone: what the owner does (accept, deny, a
 * locked screen, or an answer after some seconds), switchable at run time.
 */
import type { TrustBehaviour } from './profile-types.js';

export type TrustAnswer = 'trusted' | 'pending' | 'denied' | 'locked';

export class TrustDialog {
  private behaviour: TrustBehaviour;
  /** HostID → when the dialog for it was shown (ms). */
  private readonly shown = new Map<string, number>();

  constructor(behaviour: TrustBehaviour, private readonly now: () => number = Date.now) {
    this.behaviour = behaviour;
  }

  get mode(): TrustBehaviour {
    return this.behaviour;
  }

  /** Changes what the owner does; dialogs on screen start over. */
  set(behaviour: TrustBehaviour): void {
    this.behaviour = behaviour;
    this.shown.clear();
  }

  /** The answer to a Pair request from this host right now. */
  ask(hostId: string): TrustAnswer {
    const b = this.behaviour;
    switch (b.mode) {
      case 'accept':
        this.shown.delete(hostId);
        return 'trusted';
      case 'deny':
        this.shown.delete(hostId);
        return 'denied';
      case 'locked':
        return 'locked';
      case 'pending': {
        const t = this.now();
        const since = this.shown.get(hostId);
        if (since === undefined) {
          this.shown.set(hostId, t);
          return b.seconds <= 0 ? this.accept(hostId) : 'pending';
        }
        return t - since >= b.seconds * 1000 ? this.accept(hostId) : 'pending';
      }
    }
  }

  private accept(hostId: string): TrustAnswer {
    this.shown.delete(hostId);
    return 'trusted';
  }
}
