package httpapi

import "container/list"

// bucketLRU holds the failure buckets of at most max keys. Adding one more
// evicts the least recently used, so a flood from ever new addresses
// forgets the quietest remotes first, never everyone's budget at once; a
// remote that keeps failing keeps its bucket (and its 429s). Not safe for
// concurrent use: the limiter's mutex guards it.
type bucketLRU struct {
	max   int
	order *list.List // of *lruItem, most recently used first
	items map[string]*list.Element
}

type lruItem struct {
	key    string
	bucket *failBucket
}

func newBucketLRU(max int) *bucketLRU {
	return &bucketLRU{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns key's bucket (nil when none) and marks it used.
func (c *bucketLRU) get(key string) *failBucket {
	e := c.items[key]
	if e == nil {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem).bucket
}

// add stores a bucket for a key it does not hold, evicting the least
// recently used one when full.
func (c *bucketLRU) add(key string, b *failBucket) {
	if c.order.Len() >= c.max {
		if last := c.order.Back(); last != nil {
			delete(c.items, last.Value.(*lruItem).key)
			c.order.Remove(last)
		}
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, bucket: b})
}

// len is the number of keys held.
func (c *bucketLRU) len() int { return c.order.Len() }
