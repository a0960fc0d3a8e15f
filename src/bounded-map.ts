/**
 * A `Map` that keeps at most `limit` entries: setting a key makes it the newest, and past the
 * limit the oldest goes (a `Map` iterates in insertion order). For state keyed by what the
 * network sends (sources, addresses), which would otherwise grow without end.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  /** The most entries kept. */
  readonly limit: number;

  /** An empty map that keeps at most `limit` (a positive integer) entries. */
  constructor(limit: number) {
    super();
    this.limit = limit;
  }

  /** Sets `key` as the newest entry; drops the oldest once there are more than {@link limit}. */
  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.limit) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return this;
  }
}
