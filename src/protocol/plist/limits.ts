/** Bounds a plist decoder enforces before allocating, so hostile input cannot exhaust memory. */
export interface PlistLimits {
  /** Maximum number of objects (binary) or elements (XML). */
  maxObjects: number;
  /** Maximum nesting depth of arrays and dicts. */
  maxDepth: number;
}

export const DEFAULT_PLIST_LIMITS: PlistLimits = {
  maxObjects: 10_000_000,
  maxDepth: 512,
};

/** The defaults overridden by whatever the caller gave. */
export function resolveLimits(limits?: Partial<PlistLimits>): PlistLimits {
  return {
    maxObjects: limits?.maxObjects ?? DEFAULT_PLIST_LIMITS.maxObjects,
    maxDepth: limits?.maxDepth ?? DEFAULT_PLIST_LIMITS.maxDepth,
  };
}
