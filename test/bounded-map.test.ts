import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedMap } from '../src/bounded-map.js';

describe('BoundedMap', () => {
  it('keeps at most its limit, dropping the oldest first', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) map.set(key, i);
    assert.deepEqual(
      [...map],
      [
        ['c', 2],
        ['d', 3],
        ['e', 4],
      ],
    );
  });

  it('setting a key again makes it the newest, so it outlives older ones', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    assert.deepEqual(
      [...map],
      [
        ['a', 3],
        ['c', 4],
      ],
    );
  });

  it('is a Map: get, has, delete and size work as usual', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    assert.equal(map.get('a'), 1);
    assert.ok(map.has('a') && map instanceof Map);
    assert.ok(map.delete('a'));
    assert.equal(map.size, 0);
  });
});
