package httpapi

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/authstore/auth"
)

// This file reads urlencoded text (bodies and query strings) as the qs
// library, which Express and body-parser use, reads it: "f[]=a" and "f[0]=a"
// make an array, "f[k]=a" an object, a repeated key an array, and a
// malformed percent-escape leaves its whole key or value as written. It is
// hand-written because no Go library parses qs's bracket notation with its
// merge rules; it keeps only what validation needs to see of a value (its
// type, an array's length, an object's "length" member).

// qsOptions are the qs options that change results: body-parser's extended
// parser and Express's query parser differ in them.
type qsOptions struct {
	arrayLimit int // a larger index makes an object key instead
	depth      int // bracket segments parsed; the rest is one literal key
	// paramLimit bounds the pairs read; past it the rest is ignored
	// (body-parser refuses such a body first, see tooManyParams).
	paramLimit int
}

// Express's query parser: qs's defaults.
var queryQS = qsOptions{arrayLimit: 20, depth: 5, paramLimit: 1000}

// bodyQSParamLimit is body-parser's parameterLimit for urlencoded bodies.
const bodyQSParamLimit = 1000

// bodyQS is body-parser's extended urlencoded parser for a body of n pairs.
func bodyQS(n int) qsOptions {
	return qsOptions{arrayLimit: max(100, n), depth: 1 << 20, paramLimit: bodyQSParamLimit}
}

// qsCount returns how many pairs qs would read from s.
func qsCount(s string) int { return strings.Count(s, "&") + 1 }

// qsNode is a parsed value: a string, an array (sparse until compacted, as
// qs builds it) or an object.
type qsNode struct {
	kind    auth.ValueType // ValueString, ValueArray or ValueObject
	str     string
	arr     map[int]*qsNode // ValueArray: index to element
	arrLen  int             // JavaScript length: highest index + 1
	obj     map[string]*qsNode
	objKeys []string
}

func qsString(s string) *qsNode { return &qsNode{kind: auth.ValueString, str: s} }

func qsArray(elems ...*qsNode) *qsNode {
	n := &qsNode{kind: auth.ValueArray, arr: map[int]*qsNode{}}
	for _, e := range elems {
		n.push(e)
	}
	return n
}

func qsObject() *qsNode { return &qsNode{kind: auth.ValueObject, obj: map[string]*qsNode{}} }

func (n *qsNode) push(e *qsNode) { n.arr[n.arrLen] = e; n.arrLen++ }

func (n *qsNode) set(k string, v *qsNode) {
	if _, ok := n.obj[k]; !ok {
		n.objKeys = append(n.objKeys, k)
	}
	n.obj[k] = v
}

// parseQS parses s into its top-level fields.
func parseQS(s string, o qsOptions) map[string]*qsNode {
	// First pass: pairs by their raw (decoded) key; a repeated key
	// combines into an array.
	type pair struct {
		key string
		val *qsNode
	}
	var pairs []pair
	index := map[string]int{}
	parts := strings.Split(s, "&")
	if len(parts) > o.paramLimit {
		parts = parts[:o.paramLimit]
	}
	for _, part := range parts {
		var key, val string
		pos := strings.Index(part, "]=")
		if pos >= 0 {
			pos++
		} else {
			pos = strings.IndexByte(part, '=')
		}
		if pos < 0 {
			key = qsDecode(part)
		} else {
			key, val = qsDecode(part[:pos]), qsDecode(part[pos+1:])
		}
		if i, ok := index[key]; ok {
			p := &pairs[i]
			if p.val.kind == auth.ValueArray {
				p.val.push(qsString(val))
			} else {
				p.val = qsArray(p.val, qsString(val))
			}
			continue
		}
		index[key] = len(pairs)
		pairs = append(pairs, pair{key, qsString(val)})
	}
	// Second pass: each key's brackets build a nested value, merged into
	// the result.
	root := qsObject()
	for _, p := range pairs {
		if p.key == "" {
			continue
		}
		chain := qsKeyChain(p.key, o.depth)
		if len(chain) == 0 {
			continue
		}
		root = qsMerge(root, qsBuild(chain, p.val, o))
	}
	out := make(map[string]*qsNode, len(root.obj))
	for k, v := range root.obj {
		out[k] = v
	}
	return out
}

// qsDecode decodes a key or value: "+" is a space, and a string whose
// escapes do not decode (malformed, or not UTF-8) is kept as written, as
// decodeURIComponent's failure leaves it in qs.
func qsDecode(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil || !utf8.ValidString(d) {
		return s
	}
	return d
}

// qsKeyChain splits a key as qs does: "a[b][c]" into ["a", "[b]", "[c]"].
// The parent is what precedes the first bracket segment (one without inner
// brackets); segments past depth stay one literal segment.
func qsKeyChain(key string, depth int) []string {
	segs := qsSegments(key)
	parent := key
	if len(segs) > 0 {
		parent = key[:segs[0][0]]
	}
	var chain []string
	if parent != "" {
		chain = append(chain, parent)
	}
	for i, sg := range segs {
		if i == depth {
			chain = append(chain, "["+key[sg[0]:]+"]")
			break
		}
		chain = append(chain, key[sg[0]:sg[1]])
	}
	return chain
}

// qsSegments returns the spans of the non-overlapping matches of
// /\[[^[\]]*\]/g in s, left to right.
func qsSegments(s string) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		if s[i] != '[' {
			i++
			continue
		}
		j := strings.IndexAny(s[i+1:], "[]")
		if j < 0 {
			break
		}
		if s[i+1+j] == '[' {
			i += 1 + j
			continue
		}
		out = append(out, [2]int{i, i + j + 2})
		i += j + 2
	}
	return out
}

// qsBuild makes the value of chain (from the key) holding leaf.
func qsBuild(chain []string, leaf *qsNode, o qsOptions) *qsNode {
	v := leaf
	for i := len(chain) - 1; i >= 0; i-- {
		seg := chain[i]
		if seg == "[]" {
			if v.kind == auth.ValueArray {
				continue // [].concat(array) is the array
			}
			v = qsArray(v)
			continue
		}
		clean := seg
		if strings.HasPrefix(seg, "[") && strings.HasSuffix(seg, "]") {
			clean = seg[1 : len(seg)-1]
		}
		if idx, err := strconv.Atoi(clean); err == nil && clean != seg && strconv.Itoa(idx) == clean && idx >= 0 && idx <= o.arrayLimit {
			a := qsArray()
			a.arr[idx], a.arrLen = v, idx+1
			v = a
			continue
		}
		if clean == "__proto__" {
			v = qsObject()
			continue
		}
		obj := qsObject()
		obj.set(clean, v)
		v = obj
	}
	return v
}

// qsMerge merges source into target as qs's utils.merge does.
func qsMerge(target, source *qsNode) *qsNode {
	if source.kind == auth.ValueString {
		switch target.kind {
		case auth.ValueArray:
			target.push(source)
		case auth.ValueObject:
			target.set(source.str, qsString("true"))
		default:
			return qsArray(target, source)
		}
		return target
	}
	if target.kind == auth.ValueString {
		out := qsArray(target)
		if source.kind == auth.ValueArray {
			for _, i := range source.indexes() {
				out.push(source.arr[i])
			}
		} else {
			out.push(source)
		}
		return out
	}
	if target.kind == auth.ValueArray && source.kind == auth.ValueArray {
		for _, i := range source.indexes() {
			item := source.arr[i]
			if cur, ok := target.arr[i]; ok {
				if cur.kind != auth.ValueString && item.kind != auth.ValueString {
					target.arr[i] = qsMerge(cur, item)
				} else {
					target.push(item)
				}
			} else {
				target.arr[i] = item
				target.arrLen = max(target.arrLen, i+1)
			}
		}
		return target
	}
	if target.kind == auth.ValueArray { // arrayToObject, then merge keys
		obj := qsObject()
		for _, i := range target.indexes() {
			obj.set(strconv.Itoa(i), target.arr[i])
		}
		target = obj
	}
	keys, get := source.members()
	for _, k := range keys {
		v := get(k)
		if cur, ok := target.obj[k]; ok {
			target.set(k, qsMerge(cur, v))
		} else {
			target.set(k, v)
		}
	}
	return target
}

// indexes returns an array's indexes in order.
func (n *qsNode) indexes() []int {
	idx := make([]int, 0, len(n.arr))
	for i := range n.arr {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// members lists an array's or object's keys, as Object.keys would.
func (n *qsNode) members() ([]string, func(string) *qsNode) {
	if n.kind == auth.ValueObject {
		return n.objKeys, func(k string) *qsNode { return n.obj[k] }
	}
	var keys []string
	for _, i := range n.indexes() {
		keys = append(keys, strconv.Itoa(i))
	}
	return keys, func(k string) *qsNode { i, _ := strconv.Atoi(k); return n.arr[i] }
}

// value is what validation sees of n once qs has compacted its arrays.
func (n *qsNode) value() auth.Value {
	switch n.kind {
	case auth.ValueArray:
		return auth.Array(len(n.arr))
	case auth.ValueObject:
		length, ok := n.obj["length"]
		if !ok {
			return auth.Object(auth.JSNumber(auth.Value{}))
		}
		return auth.Object(auth.JSNumber(length.value()))
	}
	return auth.String(n.str)
}
