package engine

import (
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

func publishN(b *Bus, n int) {
	for i := 0; i < n; i++ {
		b.Publish(wire.Event{Type: wire.EventGraphChanged})
	}
}

func TestBusReplaysHistoryAfterSince(t *testing.T) {
	b := NewBus(8)
	publishN(b, 5)
	last := b.LastID()
	sub, lastID := b.Subscribe(last-3, 16)
	defer sub.Close()
	if lastID != last {
		t.Fatalf("Subscribe answered last id %d, want %d", lastID, last)
	}
	for want := last - 2; want <= last; want++ {
		ev, ok := sub.Next(nil)
		if !ok || ev.ID != want {
			t.Fatalf("got %v %v, want id %d", ev.ID, ok, want)
		}
	}
}

func TestEventIDsKeepIncreasingAcrossBuses(t *testing.T) {
	// A new bus is a restarted engine: its ids must not start over.
	a := NewBus(4)
	publishN(a, 3)
	time.Sleep(time.Millisecond) // a restart takes far longer
	b := NewBus(4)
	b.Publish(wire.Event{Type: wire.EventStarted})
	if b.LastID() <= a.LastID() {
		t.Fatalf("ids went back: %d after %d", b.LastID(), a.LastID())
	}
}

func TestBusReportsEventsTheRingNoLongerHolds(t *testing.T) {
	b := NewBus(4)
	since := b.LastID()
	publishN(b, 10)
	events, missed := b.History(since)
	if missed != 6 || len(events) != 4 || events[0].ID != since+7 {
		t.Fatalf("missed %d, events %d first %d", missed, len(events), events[0].ID-since)
	}
	if _, missed := b.History(0); missed != 6 {
		t.Fatalf("since 0 (everything remembered) missed %d, want 6", missed)
	}
	sub, _ := b.Subscribe(since, 16)
	defer sub.Close()
	ev, _ := sub.Next(nil)
	if ev.Type != wire.EventLagged || ev.Missed != 6 || ev.ID != since+6 {
		t.Fatalf("first event %+v, want lagged with 6 missed up to id %d", ev, since+6)
	}
	ev, _ = sub.Next(nil)
	if ev.ID != since+7 {
		t.Fatalf("after lagged got %d, want %d", ev.ID-since, 7)
	}
}

func TestReplayIsNotCutByTheLiveBuffer(t *testing.T) {
	b := NewBus(4096)
	since := b.LastID()
	publishN(b, 3000)
	sub, _ := b.Subscribe(since, 16)
	defer sub.Close()
	for i := int64(1); i <= 3000; i++ {
		ev, _ := sub.Next(nil)
		if ev.ID != since+i {
			t.Fatalf("replay event %d has id %d (type %s)", i, ev.ID-since, ev.Type)
		}
	}
}

func TestSlowSubscriberGetsOneLaggedInPlaceAndNeverBlocksPublish(t *testing.T) {
	b := NewBus(1024)
	sub, first := b.Subscribe(-1, 2)
	defer sub.Close()
	publishN(b, 100) // must not block
	var ids []int64
	for i := 0; i < 3; i++ {
		ev, _ := sub.Next(nil)
		ids = append(ids, ev.ID-first)
		if i == 2 && (ev.Type != wire.EventLagged || ev.Missed != 98) {
			t.Fatalf("third event %+v, want lagged with 98 missed", ev)
		}
	}
	if ids[0] != 1 || ids[1] != 2 || ids[2] != 100 {
		t.Fatalf("ids %v, want the two queued events then lagged at 100", ids)
	}
	b.Publish(wire.Event{Type: wire.EventStarted})
	if ev, _ := sub.Next(nil); ev.ID-first != 101 {
		t.Fatalf("after catching up got %d, want 101", ev.ID-first)
	}
}

func TestClosedSubscriptionStopsNext(t *testing.T) {
	b := NewBus(4)
	sub, _ := b.Subscribe(-1, 2)
	sub.Close()
	if _, ok := sub.Next(nil); ok {
		t.Fatal("Next on a closed subscription returned an event")
	}
	b.Publish(wire.Event{Type: wire.EventStarted}) // no panic, no delivery
}

func TestFilteredSubscriptionSkipsOtherTypesInReplayAndLive(t *testing.T) {
	b := NewBus(64)
	since := b.LastID()
	b.Publish(wire.Event{Type: wire.EventStarted})
	b.Publish(wire.Event{Type: wire.EventSkillsChanged})
	sub, _ := b.SubscribeTypes(since, 2, []string{wire.EventSkillsChanged})
	defer sub.Close()
	publishN(b, 10) // other types: not queued, so no lag either
	b.Publish(wire.Event{Type: wire.EventSkillsChanged})
	for i := 0; i < 2; i++ {
		ev, _ := sub.Next(nil)
		if ev.Type != wire.EventSkillsChanged {
			t.Fatalf("event %d is %s, want only skills.changed", i, ev.Type)
		}
	}
}
