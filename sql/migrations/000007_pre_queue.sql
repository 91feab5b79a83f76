-- The pre-queue with a random start. Before a concert's sales_open_at, joining gives a place marked
-- pre_queue: in the line (it draws its ordinal as any join does), with no position yet. At the opening,
-- the first admission step draws (pg_draw): the ordinals of the pre-queue's places are dealt out again
-- in a uniformly random order, so they stay ahead of everyone who joins later, and the line is marked
-- drawn so that nobody joins the pre-queue after the draw.

alter table queue_settings add column sales_open_at timestamptz;
alter table queue_lines add column drawn boolean not null default false;
alter table queue_sessions add column pre_queue boolean not null default false;
