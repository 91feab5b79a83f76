-- Whether a queue session has ended asks for a PAID reservation of the user in that session
-- (sql/functions/session_has_ended.sql), on every hold. With no index of paid reservations by user, the
-- plan went through the index of every PAID reservation (reservations_one_sale_per_seat, whose predicate
-- the question matches) and filtered by user: a hold cost more with every seat sold (bench, hold + pay
-- pairs: 853 -> 521 per second). This index answers it by user.
create index reservations_paid_by_user on reservations (user_id, concert_id, queue_seq) where status = 'PAID';
