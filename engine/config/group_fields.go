package config

import (
	"errors"
	"fmt"
	"slices"
)

// consumerAssignors are the KIP-848 server-side assignors the broker has.
var consumerAssignors = []string{"uniform", "range"}

// assignorsField sets group.consumer.assignors: a non-empty list of known
// assignor names, without repeats; the first is the groups' default.
func assignorsField(c *Config, v string) error {
	names, err := splitList(v)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errors.New("needs at least one assignor")
	}
	for i, n := range names {
		if !slices.Contains(consumerAssignors, n) {
			return fmt.Errorf("unknown assignor %q (have uniform, range)", n)
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("assignor %q listed twice", n)
		}
	}
	c.GroupConsumerAssignors = names
	return nil
}
