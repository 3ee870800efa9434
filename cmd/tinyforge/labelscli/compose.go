package labelscli

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Service is one service of a compose file, with the container labels it
// declares and where each was written.
type Service struct {
	Name   string
	Line   int               // line of the service's key
	Labels map[string]string // label key → value
	Lines  map[string]int    // label key → line it was written on
	// Problems are labels compose itself would refuse or read ambiguously
	// (a value that is not a string, a key set twice), by line.
	Problems []Problem
}

// ParseCompose reads the services of a compose file and their labels, in
// both forms compose accepts: a map (`key: value`) and a list
// (`- "key=value"`, a bare `- key` being an empty value). YAML anchors,
// aliases and merge keys (`<<: *common`) are followed. name is the file's
// name in messages. Variables (${VAR}) are not interpolated: pipe
// `docker compose config` in for that. An error means the file could not
// be read as a compose file at all.
func ParseCompose(name string, data []byte) ([]Service, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // an empty file has no services
	}
	top, err := pairs(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("%s: the top level %w", name, err)
	}
	services, err := lookup(top, "services")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if services == nil || resolve(services).ShortTag() == "!!null" {
		return nil, nil
	}
	list, err := pairs(services)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: services %w", name, services.Line, err)
	}
	out := make([]Service, 0, len(list))
	for i, p := range list {
		for _, q := range list[:i] {
			if q.key.Value == p.key.Value {
				return nil, fmt.Errorf("%s:%d: service %s is declared a second time", name, p.key.Line, p.key.Value)
			}
		}
		svc, err := parseService(p)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: service %s: %w", name, p.key.Line, p.key.Value, err)
		}
		out = append(out, svc)
	}
	return out, nil
}

func parseService(p pair) (Service, error) {
	svc := Service{Name: p.key.Value, Line: p.key.Line, Labels: map[string]string{}, Lines: map[string]int{}}
	if resolve(p.value).ShortTag() == "!!null" {
		return svc, nil
	}
	fields, err := pairs(p.value)
	if err != nil {
		return svc, err
	}
	node, err := lookup(fields, "labels")
	if err != nil {
		return svc, err
	}
	if node == nil {
		return svc, nil
	}
	node = resolve(node)
	set := func(key, value string, line int) {
		if first, dup := svc.Lines[key]; dup {
			svc.Problems = append(svc.Problems, Problem{Line: line,
				Message: fmt.Sprintf("label %s is set twice (lines %d and %d): keep one", key, first, line)})
			return
		}
		svc.Labels[key], svc.Lines[key] = value, line
	}
	switch node.Kind {
	case yaml.ScalarNode:
		if node.ShortTag() != "!!null" {
			return svc, fmt.Errorf("labels must be a map or a list, not %q", node.Value)
		}
	case yaml.MappingNode:
		ls, err := pairs(node)
		if err != nil {
			return svc, fmt.Errorf("labels %w", err)
		}
		for _, l := range ls {
			v := resolve(l.value)
			switch {
			case v.Kind != yaml.ScalarNode:
				svc.Problems = append(svc.Problems, Problem{Line: l.key.Line,
					Message: fmt.Sprintf("label %s: the value must be a string, not a %s", l.key.Value, kindName(v))})
			case v.ShortTag() == "!!null":
				set(l.key.Value, "", l.key.Line)
			default:
				set(l.key.Value, v.Value, l.key.Line)
			}
		}
	case yaml.SequenceNode:
		for _, item := range node.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				svc.Problems = append(svc.Problems, Problem{Line: item.Line,
					Message: fmt.Sprintf("a list label must be a string key=value, not a %s", kindName(item))})
				continue
			}
			k, v, _ := strings.Cut(item.Value, "=")
			set(k, v, item.Line)
		}
	default:
		return svc, fmt.Errorf("labels must be a map or a list, not a %s", kindName(node))
	}
	return svc, nil
}

// pair is one key: value of a YAML mapping.
type pair struct{ key, value *yaml.Node }

// pairs lists the entries of a mapping node, following aliases and merge
// keys the way YAML specifies them: keys written in the mapping win over
// merged ones, and an earlier merged mapping wins over a later one. A key
// written twice is listed twice, for the caller to report.
func pairs(n *yaml.Node) ([]pair, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("must be a map, not a %s", kindName(n))
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() != "!!merge" {
			own = append(own, pair{k, v})
			continue
		}
		sources := []*yaml.Node{v}
		if rv := resolve(v); rv.Kind == yaml.SequenceNode {
			sources = rv.Content
		}
		for _, src := range sources {
			ps, err := pairs(src)
			if err != nil {
				return nil, fmt.Errorf("has a merge key (<<) whose value %w", err)
			}
			merged = append(merged, ps...)
		}
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.key.Value] = true
	}
	out := own
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// lookup returns the value of key in a mapping's pairs, nil when absent;
// a key written twice is an error, as compose refuses such a file.
func lookup(ps []pair, key string) (*yaml.Node, error) {
	var found *yaml.Node
	for _, p := range ps {
		if p.key.Value != key {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("line %d: %q is set a second time", p.key.Line, key)
		}
		found = p.value
	}
	return found, nil
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	default:
		return "YAML node of kind " + fmt.Sprint(n.Kind)
	}
}
