package engine

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// DeleteTopics: v0-6
//
// Behaviour, as Kafka's controller answers:
// * A topic named by neither or both of name and id (v6):
//   INVALID_REQUEST. A name or id given twice: INVALID_REQUEST for every
//   copy.
// * An unknown name: UNKNOWN_TOPIC_OR_PARTITION; an unknown id (v6):
//   UNKNOWN_TOPIC_ID.
// * delete.topic.enable=false: every topic TOPIC_DELETION_DISABLED
//   (INVALID_REQUEST before v3, which has no such code), as Kafka.
// * All known topics of a request are deleted by one metadata proposal,
//   run off the event loop and bounded by TimeoutMillis and io.timeout.ms;
//   the answer comes once the shards have removed the partitions' data. A
//   topic deleted meanwhile by someone else is answered
//   UNKNOWN_TOPIC_OR_PARTITION and the rest are proposed again.
//
// Version notes:
// * v1: ThrottleMillis
// * v4: flexible
// * v5: ErrorMessage
// * v6: topics by name or TopicID (KIP-516); the response names both

func init() { registerAPI(20, 0, 6, (*Broker).handleDeleteTopics) }

// topicDelete is one known topic of a request on its way to the proposal.
type topicDelete struct {
	out  *kmsg.DeleteTopicsResponseTopic
	name string
}

func (b *Broker) handleDeleteTopics(r *request) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	v := b.currentView()

	entries := req.Topics
	if req.Version < 6 {
		entries = make([]kmsg.DeleteTopicsRequestTopic, len(req.TopicNames))
		for i := range req.TopicNames {
			entries[i] = kmsg.NewDeleteTopicsRequestTopic()
			entries[i].Topic = &req.TopicNames[i]
		}
	}
	names := make(map[string]int)
	ids := make(map[meta.TopicID]int)
	for _, e := range entries {
		switch {
		case e.Topic != nil && e.TopicID == [16]byte{}:
			names[*e.Topic]++
		case e.Topic == nil && e.TopicID != [16]byte{}:
			ids[e.TopicID]++
		}
	}

	var deletes []topicDelete
	resp.Topics = make([]kmsg.DeleteTopicsResponseTopic, len(entries))
	for i, e := range entries {
		st := &resp.Topics[i]
		*st = kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = e.Topic, e.TopicID
		var aerr *apiError
		name := ""
		switch {
		case !b.cfg.DeleteTopicEnable && req.Version < 3:
			aerr = newAPIError(kerr.InvalidRequest, "Topic deletion is disabled.")
		case !b.cfg.DeleteTopicEnable:
			aerr = newAPIError(kerr.TopicDeletionDisabled, "Topic deletion is disabled.")
		case e.Topic == nil && e.TopicID == [16]byte{}:
			aerr = newAPIError(kerr.InvalidRequest, "Neither topic name nor id were specified.")
		case e.Topic != nil && e.TopicID != [16]byte{}:
			aerr = newAPIError(kerr.InvalidRequest, "You may not specify both topic name and topic id.")
		case e.Topic != nil && names[*e.Topic] > 1:
			aerr = newAPIError(kerr.InvalidRequest, "Duplicate topic name.")
		case e.Topic == nil && ids[e.TopicID] > 1:
			aerr = newAPIError(kerr.InvalidRequest, "Duplicate topic id.")
		case e.Topic != nil:
			name = *e.Topic
			if t, ok := v.topic(name); ok {
				st.TopicID = t.ID
			} else {
				aerr = newAPIError(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
			}
		default:
			n, ok := v.topicByID(e.TopicID)
			if !ok {
				aerr = newAPIError(kerr.UnknownTopicID, "This server does not host this topic ID.")
				break
			}
			name = n
			st.Topic = &name
		}
		if aerr != nil {
			st.ErrorCode, st.ErrorMessage = aerr.errCode(), aerr.message()
			continue
		}
		deletes = append(deletes, topicDelete{out: st, name: name})
	}
	if len(deletes) == 0 {
		r.respond(resp)
		return
	}
	go func() {
		ctx, cancel := b.adminContext(req.TimeoutMillis)
		defer cancel()
		b.deleteTopics(ctx, deletes)
		r.respond(resp)
	}()
}

// deleteTopics proposes one delete of every topic and fills the answers. A
// topic gone meanwhile fails the whole op, so it is answered
// UNKNOWN_TOPIC_OR_PARTITION and the others proposed again; each retry drops
// at least one topic, so the loop ends.
func (b *Broker) deleteTopics(ctx context.Context, deletes []topicDelete) {
	for len(deletes) > 0 {
		names := make([]string, len(deletes))
		for i := range deletes {
			names[i] = deletes[i].name
		}
		res, err := b.propose(ctx, []meta.Op{{Kind: meta.OpDeleteTopics, Names: names}})
		if err == nil {
			err = res[0].Err
		}
		if err == nil {
			return
		}
		if errors.Is(err, meta.ErrUnknownTopic) {
			now := b.store.Current()
			remaining := deletes[:0:0]
			for _, d := range deletes {
				if _, ok := now.Topics[d.name]; !ok {
					aerr := newAPIError(kerr.UnknownTopicOrPartition, "topic %q was deleted meanwhile", d.name)
					d.out.ErrorCode, d.out.ErrorMessage = aerr.errCode(), aerr.message()
					continue
				}
				remaining = append(remaining, d)
			}
			if len(remaining) < len(deletes) {
				deletes = remaining
				continue
			}
		}
		aerr := metaOpError(err)
		for _, d := range deletes {
			d.out.ErrorCode, d.out.ErrorMessage = aerr.errCode(), aerr.message()
		}
		return
	}
}
