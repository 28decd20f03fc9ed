//! The Lua scripts the core layer runs, so that each step is atomic on its host.

/// channels_redis' `send`, as one script: prune messages older than
/// `ARGV[1]`, refuse (return 1) when the channel holds `ARGV[2]` or more,
/// else add `ARGV[4]` scored `ARGV[3]` and expire the key after `ARGV[5]` s.
/// channels_redis runs the same four commands one by one.
pub(crate) const SEND: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[2]) then
    return 1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
";

/// channels_redis 4.3's `group_send_lua`, verbatim: for each key, add its
/// message unless the key holds its capacity; the number skipped as full.
/// ARGV: the messages, then the capacities, then the time and the expiry.
pub(crate) const GROUP_SEND: &str = r"
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i=1,#KEYS do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
";
