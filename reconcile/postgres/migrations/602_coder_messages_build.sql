-- The history marks each tracked build Coder reported (a lookup of
-- coder_messages by build per entry): by index, not by reading every
-- message.
CREATE INDEX coder_messages_build ON coder_messages (build_id);
