"""The Lua scripts of ``RedisQueue``: each operation runs as one script, atomically on the Redis server.

Keys under the prefix ``P``: ``seq`` (job ids), ``j:ID`` (a job's hash), ``ready`` (ids of runnable and
scheduled jobs, scored by due time), ``k:KEY`` (the same for one key: its first member runs next), ``lease:KEY``
(the id holding the key; the lease is live while that job's ``lease_until`` is ahead of the caller's clock),
``dead`` (dead letters, scored by when they died), ``slot:SLOT`` (the scheduled job of a slot), ``d:DELIVERY``
(a delivery id seen, expiring after the dedupe window), ``n:KEY`` (the newest order seen for a key, same expiry).
Ids are zero-padded so that members with the same score sort by id. Scripts name keys they build from ``P``, so
this needs one Redis (or a primary with replicas), not a Redis Cluster.
"""

COMMON = r"""
local P = ARGV[1]
local function pad(n) return string.format('%016d', n) end
local function drop(id)
  local jk = P .. 'j:' .. id
  local f = redis.call('HMGET', jk, 'key', 'slot')
  redis.call('ZREM', P .. 'ready', id)
  redis.call('ZREM', P .. 'dead', id)
  if f[1] then
    redis.call('ZREM', P .. 'k:' .. f[1], id)
    if redis.call('GET', P .. 'lease:' .. f[1]) == id then redis.call('DEL', P .. 'lease:' .. f[1]) end
  end
  if f[2] and f[2] ~= '' and redis.call('GET', P .. 'slot:' .. f[2]) == id then
    redis.call('DEL', P .. 'slot:' .. f[2])
  end
  redis.call('DEL', jk)
end
local function newer(id, key, ord)
  if not ord or ord == '' then return false end
  local others = redis.call('ZRANGE', P .. 'k:' .. key, 0, -1)
  for _, o in ipairs(others) do
    if o > id then
      local f = redis.call('HMGET', P .. 'j:' .. o, 'ord', 'slot')
      if f[1] and f[1] ~= '' and (not f[2] or f[2] == '') and f[1] >= ord then return true end
    end
  end
  return false
end
local function insert(key, name, event, delivery, idx, payload, ord, due, slot, created)
  local id = pad(redis.call('INCR', P .. 'seq'))
  redis.call('HSET', P .. 'j:' .. id, 'key', key, 'name', name, 'event', event, 'delivery', delivery,
    'idx', idx, 'payload', payload, 'ord', ord, 'slot', slot, 'state', 'ready', 'due', due,
    'created', created, 'attempts', 0, 'owner', '', 'lease_until', 0, 'error', '')
  redis.call('ZADD', P .. 'ready', due, id)
  redis.call('ZADD', P .. 'k:' .. key, due, id)
  if slot ~= '' then redis.call('SET', P .. 'slot:' .. slot, id) end
  return id
end
local function owned(id, owner)
  return redis.call('HGET', P .. 'j:' .. id, 'owner') == owner
end
"""

ACCEPT = COMMON + r"""
local delivery, now, window, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if not redis.call('SET', P .. 'd:' .. delivery, ARGV[3], 'NX', 'EX', math.ceil(window)) then
  return {-1, 0}
end
local queued, stale = 0, 0
for i = 0, n - 1 do
  local b = 6 + i * 8
  local key, ord = ARGV[b], ARGV[b + 5]
  local skip = false
  if ord ~= '' then
    local seen = redis.call('GET', P .. 'n:' .. key)
    if seen and ord < seen then skip = true
    else redis.call('SET', P .. 'n:' .. key, ord, 'EX', math.ceil(window)) end
  end
  if skip then stale = stale + 1
  else
    local due = tonumber(ARGV[b + 6])
    if due <= 0 then due = now end
    insert(key, ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 7], ord, due, '', now)
    queued = queued + 1
  end
end
return {queued, stale}
"""

SCHEDULE = COMMON + r"""
local key, name, event, delivery, idx, payload, ord, due, slot =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10]
if slot ~= '' then
  local old = redis.call('GET', P .. 'slot:' .. slot)
  if old then
    if redis.call('HGET', P .. 'j:' .. old, 'owner') == '' then drop(old)
    else
      redis.call('HSET', P .. 'j:' .. old, 'slot', '')
      redis.call('DEL', P .. 'slot:' .. slot)
    end
  end
end
return insert(key, name, event, delivery, idx, payload, ord, due, slot, due)
"""

CLAIM = COMMON + r"""
local now, owner, lease, scan = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', P .. 'ready', '-inf', now, 'LIMIT', 0, scan)
for _, id in ipairs(ids) do
  local jk = P .. 'j:' .. id
  local key = redis.call('HGET', jk, 'key')
  local leased = true
  local holder = false
  if key then
    leased = false
    holder = redis.call('GET', P .. 'lease:' .. key)
  end
  if holder then
    local till = tonumber(redis.call('HGET', P .. 'j:' .. holder, 'lease_until') or '0') or 0
    if till > now then leased = true end
  end
  if not leased and redis.call('ZRANGE', P .. 'k:' .. key, 0, 0)[1] == id then
    if newer(id, key, redis.call('HGET', jk, 'ord')) then
      drop(id)
    else
      redis.call('SET', P .. 'lease:' .. key, id)
      redis.call('HSET', jk, 'owner', owner, 'lease_until', now + lease)
      redis.call('HINCRBY', jk, 'attempts', 1)
      local f = redis.call('HMGET', jk, 'key', 'name', 'event', 'delivery', 'idx', 'payload', 'ord',
        'attempts', 'created')
      table.insert(f, 1, id)
      return f
    end
  end
end
return false
"""

EXTEND = COMMON + r"""
local id, owner, till = ARGV[2], ARGV[3], ARGV[4]
if not owned(id, owner) or redis.call('HGET', P .. 'j:' .. id, 'state') ~= 'ready' then return 0 end
redis.call('HSET', P .. 'j:' .. id, 'lease_until', till)
return 1
"""

SUPERSEDED = COMMON + r"""
local id = ARGV[2]
local f = redis.call('HMGET', P .. 'j:' .. id, 'key', 'ord')
if not f[1] then return 0 end
if newer(id, f[1], f[2]) then return 1 end
return 0
"""

COMPLETE = COMMON + r"""
if owned(ARGV[2], ARGV[3]) then drop(ARGV[2]) end
return 0
"""

RELEASE = COMMON + r"""
local id, owner, due, err = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
if not owned(id, owner) then return 0 end
local jk = P .. 'j:' .. id
local key = redis.call('HGET', jk, 'key')
redis.call('HSET', jk, 'owner', '', 'lease_until', 0, 'due', due, 'error', err)
redis.call('ZADD', P .. 'ready', due, id)
redis.call('ZADD', P .. 'k:' .. key, due, id)
if redis.call('GET', P .. 'lease:' .. key) == id then redis.call('DEL', P .. 'lease:' .. key) end
return 1
"""

BURY = COMMON + r"""
local id, owner, now, err = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
if not owned(id, owner) then return 0 end
local jk = P .. 'j:' .. id
local f = redis.call('HMGET', jk, 'key', 'slot')
redis.call('ZREM', P .. 'ready', id)
redis.call('ZREM', P .. 'k:' .. f[1], id)
if redis.call('GET', P .. 'lease:' .. f[1]) == id then redis.call('DEL', P .. 'lease:' .. f[1]) end
if f[2] and f[2] ~= '' and redis.call('GET', P .. 'slot:' .. f[2]) == id then
  redis.call('DEL', P .. 'slot:' .. f[2])
end
redis.call('HSET', jk, 'state', 'dead', 'owner', '', 'lease_until', 0, 'due', now, 'error', err, 'slot', '')
redis.call('ZADD', P .. 'dead', now, id)
return 1
"""

REVIVE = COMMON + r"""
local target, now = ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGE', P .. 'dead', 0, -1)
local n = 0
for _, id in ipairs(ids) do
  if target == '' or target == id then
    local jk = P .. 'j:' .. id
    local key = redis.call('HGET', jk, 'key')
    redis.call('ZREM', P .. 'dead', id)
    redis.call('HSET', jk, 'state', 'ready', 'attempts', 0, 'due', now)
    redis.call('ZADD', P .. 'ready', now, id)
    redis.call('ZADD', P .. 'k:' .. key, now, id)
    n = n + 1
  end
end
return n
"""

PURGE = COMMON + r"""
local target = ARGV[2]
local ids = redis.call('ZRANGE', P .. 'dead', 0, -1)
local n = 0
for _, id in ipairs(ids) do
  if target == '' or target == id then
    drop(id)
    n = n + 1
  end
end
return n
"""
