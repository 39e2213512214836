package engine

import (
	"testing"
)

func TestBusReplaysHistoryAfterSince(t *testing.T) {
	b := NewBus(8)
	for i := 0; i < 5; i++ {
		b.Publish(Event{Type: EventGraphChanged})
	}
	sub := b.Subscribe(2, 16)
	defer sub.Close()
	for want := int64(3); want <= 5; want++ {
		ev, ok := sub.Next(nil)
		if !ok || ev.ID != want {
			t.Fatalf("got %v %v, want id %d", ev.ID, ok, want)
		}
	}
}

func TestBusReportsEventsTheRingNoLongerHolds(t *testing.T) {
	b := NewBus(4)
	for i := 0; i < 10; i++ {
		b.Publish(Event{Type: EventGraphChanged})
	}
	events, missed := b.History(0)
	if missed != 6 || len(events) != 4 || events[0].ID != 7 {
		t.Fatalf("missed %d, events %d first %d", missed, len(events), events[0].ID)
	}
	sub := b.Subscribe(0, 16)
	defer sub.Close()
	ev, _ := sub.Next(nil)
	if ev.Type != EventLagged || ev.Missed != 6 {
		t.Fatalf("first event %+v, want lagged with 6 missed", ev)
	}
}

func TestSlowSubscriberGetsLaggedAndNeverBlocksPublish(t *testing.T) {
	b := NewBus(1024)
	sub := b.Subscribe(-1, 2)
	defer sub.Close()
	for i := 0; i < 100; i++ {
		b.Publish(Event{Type: EventStarted}) // must not block
	}
	ev, _ := sub.Next(nil)
	if ev.Type != EventLagged || ev.Missed != 98 {
		t.Fatalf("got %+v, want lagged with 98 missed", ev)
	}
	ev, _ = sub.Next(nil)
	if ev.ID != 1 {
		t.Fatalf("after lagged got id %d, want 1", ev.ID)
	}
}

func TestClosedSubscriptionStopsNext(t *testing.T) {
	b := NewBus(4)
	sub := b.Subscribe(-1, 2)
	sub.Close()
	if _, ok := sub.Next(nil); ok {
		t.Fatal("Next on a closed subscription returned an event")
	}
	b.Publish(Event{Type: EventStarted}) // no panic, no delivery
}
