/**
 * The two Lua scripts of ratelimit-redis. Each runs atomically on the server, so one acquire
 * checks and charges every matching rule's window in one step (all or nothing), and one
 * settle corrects every window of a reservation once.
 *
 * A window is a hash `{w: start ms, r: requests, t: tokens}` that expires when the window
 * ends; a hash whose `w` is not the current window's start counts as empty (it is overwritten).
 * Numbers are written with `%d`: Lua would print large ones in exponent form, which `HINCRBY`
 * refuses.
 *
 * @module
 */

/**
 * What both scripts start with: `int()` to write a number with `%d`, and `now`, the clock in
 * epoch ms from ARGV[1], or the server's `TIME` when ARGV[1] is `""`.
 */
const PRELUDE = `
local function int(x) return string.format('%d', x) end
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
`;

/**
 * Acquire. KEYS[1]: the reservation record; KEYS[2..n+1]: the window of each matching rule.
 * ARGV[1]: the clock in epoch ms, or `""` for the server's `TIME`; ARGV[2]: estimated tokens;
 * then 4 per rule: window ms, request limit (-1: none), token limit (-1: none), rule name.
 * Reply: `{allowed 0|1, now, retry_after_ms, then per rule: requests, tokens, window end}`,
 * the counts after this request (or unchanged when refused).
 */
export const ACQUIRE_LUA = `${PRELUDE}
local estimated = tonumber(ARGV[2])
local n = #KEYS - 1
local reply = {1, now, 0}
local fresh = {}
local refused_until = -1
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local length = tonumber(ARGV[a])
  local max_requests = tonumber(ARGV[a + 1])
  local max_tokens = tonumber(ARGV[a + 2])
  local start = now - (now % length)
  local stored = redis.call('HMGET', KEYS[i + 1], 'w', 'r', 't')
  local requests, tokens = 0, 0
  if tonumber(stored[1]) == start then
    requests = tonumber(stored[2]) or 0
    tokens = tonumber(stored[3]) or 0
  else
    fresh[i] = true
  end
  if (max_requests >= 0 and requests >= max_requests) or (max_tokens >= 0 and tokens >= max_tokens) then
    if start + length > refused_until then refused_until = start + length end
  end
  local r = 4 + (i - 1) * 3
  reply[r], reply[r + 1], reply[r + 2] = requests, tokens, start + length
end
if refused_until >= 0 then
  reply[1], reply[3] = 0, refused_until - now
  return reply
end
local record = {}
local expires = now
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local r = 4 + (i - 1) * 3
  local key = KEYS[i + 1]
  local window_end = reply[r + 2]
  local start = window_end - tonumber(ARGV[a])
  local charge = 0
  if tonumber(ARGV[a + 2]) >= 0 then
    charge = estimated
    record[#record + 1] = 'w:' .. ARGV[a + 3]
    record[#record + 1] = int(start)
    if window_end > expires then expires = window_end end
  end
  if fresh[i] then
    redis.call('HSET', key, 'w', int(start), 'r', '1', 't', int(charge))
    redis.call('PEXPIRE', key, int(window_end - now))
  else
    redis.call('HINCRBY', key, 'r', 1)
    if charge > 0 then redis.call('HINCRBY', key, 't', int(charge)) end
  end
  reply[r], reply[r + 1] = reply[r] + 1, reply[r + 1] + charge
end
if #record > 0 then
  redis.call('HSET', KEYS[1], 'e', int(estimated), unpack(record))
  redis.call('PEXPIRE', KEYS[1], int(expires - now))
end
return reply
`;

/**
 * Settle. KEYS[1]: the reservation record; KEYS[2..]: the window of each token rule of the
 * config. ARGV[1]: the clock, or `""`; ARGV[2]: actual tokens; then 2 per rule: rule name,
 * window ms. The record is deleted (a reservation settles once); each window it was charged in
 * that has not ended gets `tokens + actual - estimated`, never below 0.
 * Reply: the number of windows corrected, or -1 when the record is gone.
 */
export const SETTLE_LUA = `${PRELUDE}
local record = redis.call('HGETALL', KEYS[1])
if #record == 0 then return -1 end
redis.call('DEL', KEYS[1])
local fields = {}
for i = 1, #record, 2 do fields[record[i]] = record[i + 1] end
local delta = tonumber(ARGV[2]) - (tonumber(fields['e']) or 0)
local corrected = 0
for i = 2, #KEYS do
  local a = 3 + (i - 2) * 2
  local start = tonumber(fields['w:' .. ARGV[a]])
  if start ~= nil and now < start + tonumber(ARGV[a + 1]) then
    local stored = redis.call('HMGET', KEYS[i], 'w', 't')
    if tonumber(stored[1]) == start then
      local tokens = math.max(0, (tonumber(stored[2]) or 0) + delta)
      redis.call('HSET', KEYS[i], 't', int(tokens))
      corrected = corrected + 1
    end
  end
end
return corrected
`;
