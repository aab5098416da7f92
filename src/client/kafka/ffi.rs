//! librdkafka's consumer group admin calls that the `rdkafka` crate does not wrap:
//! ListConsumerGroups and DescribeConsumerGroups. Kafka 4's groups (KIP-848, which `consume -g`
//! joins) are invisible to the classic ListGroups/DescribeGroups the crate offers.
//!
//! Each call follows librdkafka's admin pattern: a private result queue, the request, one
//! event polled from the queue, its result read, then event, options and queue destroyed.
//! Everything read from the result (strings, partition lists) is copied out before the event
//! is destroyed, since the event owns it.
//!
//! Also the cached high watermark (rd_kafka_get_watermark_offsets), which the crate leaves out,
//! and a producer that sends through a topic handle: the crate's `send` looks the topic up
//! by name for every record.

use crate::error::{Error, Result};
use crate::record::Header;
use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use rdkafka::util::IntoOpaque;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;
use std::time::Duration;

pub struct Member {
    pub id: String,
    pub host: String,
    pub owns: Vec<(String, u32)>,
    /// What the coordinator means it to own once partitions in flight have moved (Kafka 4's
    /// protocol; None where the group does not say).
    pub target: Option<Vec<(String, u32)>>,
}

/// The member id the coordinator gave this client ("" before it joined).
pub fn member_id<C: ClientContext>(client: &Client<C>) -> String {
    let rk = client.native_ptr();
    // SAFETY: `rk` is the live client handle; rd_kafka_memberid returns a copy (or null)
    // that is ours to free with rd_kafka_mem_free, which happens right after it is copied.
    unsafe {
        let p = rd::rd_kafka_memberid(rk);
        let id = text(p);
        if !p.is_null() {
            rd::rd_kafka_mem_free(rk, p.cast());
        }
        id
    }
}

/// The partitions of a member assignment (null: none).
///
/// # Safety
/// `a` is null or a member assignment of a live DescribeConsumerGroups result.
unsafe fn assignment(a: *const rd::rd_kafka_MemberAssignment_t) -> Option<Vec<(String, u32)>> {
    if a.is_null() {
        return None;
    }
    let mut owns = Vec::new();
    // SAFETY: by the caller's contract `a` is live; the list is read within its `cnt`.
    unsafe {
        let l = rd::rd_kafka_MemberAssignment_partitions(a);
        if !l.is_null() {
            for j in 0..(*l).cnt.max(0) as usize {
                let tp = &*(*l).elems.add(j);
                owns.push((text(tp.topic), tp.partition as u32));
            }
        }
    }
    Some(owns)
}

/// Owns a result queue, admin options and an event; destroys each on drop.
struct Request {
    queue: *mut rd::rd_kafka_queue_t,
    options: *mut rd::rd_kafka_AdminOptions_t,
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Request {
    fn drop(&mut self) {
        // SAFETY: each pointer is either null or was returned by its librdkafka constructor
        // and is destroyed exactly once, here; the client they belong to outlives the request
        // (it is borrowed for the request's whole life in `call`).
        unsafe {
            if !self.event.is_null() {
                rd::rd_kafka_event_destroy(self.event);
            }
            if !self.options.is_null() {
                rd::rd_kafka_AdminOptions_destroy(self.options);
            }
            if !self.queue.is_null() {
                rd::rd_kafka_queue_destroy(self.queue);
            }
        }
    }
}

/// Copy a C string librdkafka returned (null: empty).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives while this runs.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Send one admin request with `send`, wait for its event, check its error.
fn call<C: ClientContext>(
    client: &Client<C>,
    op: rd::rd_kafka_admin_op_t,
    timeout: Duration,
    what: &str,
    send: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Request> {
    let rk = client.native_ptr();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `rk` is the live client handle borrowed from `client` for this whole call; the
    // queue and options are created for it and owned by `req`, which destroys them. The
    // error buffer outlives the call that writes into it, and its size is passed with it.
    unsafe {
        let mut req = Request {
            queue: rd::rd_kafka_queue_new(rk),
            options: rd::rd_kafka_AdminOptions_new(rk, op),
            event: std::ptr::null_mut(),
        };
        if req.queue.is_null() || req.options.is_null() {
            return Err(Error::Other(format!(
                "{what}: librdkafka refused the request"
            )));
        }
        let mut errbuf = [0 as c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(
            req.options,
            ms,
            errbuf.as_mut_ptr(),
            errbuf.len(),
        );
        send(rk, req.options, req.queue);
        // The request's own timeout answers first; the extra second only bounds a librdkafka
        // that never answers.
        req.event = rd::rd_kafka_queue_poll(req.queue, ms.saturating_add(1000));
        if req.event.is_null() {
            return Err(Error::Temporary(format!(
                "{what}: no answer within {}",
                humantime::format_duration(timeout)
            )));
        }
        let err = rd::rd_kafka_event_error(req.event);
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            let msg = text(rd::rd_kafka_event_error_string(req.event));
            return Err(match super::errors::from_code(err.into(), what) {
                Error::Other(_) => Error::Other(format!("{what}: {msg}")),
                e => e,
            });
        }
        Ok(req)
    }
}

/// Every consumer group the cluster knows, with its state.
pub fn list_groups<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<Vec<(String, String)>> {
    let req = call(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
        timeout,
        "listing groups",
        // SAFETY: arguments straight from `call`, valid for this call.
        |rk, o, q| unsafe { rd::rd_kafka_ListConsumerGroups(rk, o, q) },
    )?;
    let mut out = Vec::new();
    // SAFETY: `req.event` is a ListConsumerGroups result event (checked for errors by `call`);
    // the listings array and the strings in it belong to the event, which `req` keeps alive
    // until every value was copied out here.
    unsafe {
        let res = rd::rd_kafka_event_ListConsumerGroups_result(req.event);
        if res.is_null() {
            return Err(Error::Other("listing groups: no result".into()));
        }
        let mut n = 0usize;
        let v = rd::rd_kafka_ListConsumerGroups_result_valid(res, &mut n);
        for i in 0..n {
            let g = *v.add(i);
            let name = text(rd::rd_kafka_ConsumerGroupListing_group_id(g));
            let state = text(rd::rd_kafka_consumer_group_state_name(
                rd::rd_kafka_ConsumerGroupListing_state(g),
            ));
            out.push((name, state));
        }
    }
    out.sort();
    Ok(out)
}

/// One group's members, with what each is assigned; None if the cluster does not know the
/// group.
pub fn describe_group<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    timeout: Duration,
) -> Result<Option<Vec<Member>>> {
    let name = CString::new(group)
        .map_err(|_| Error::Usage(format!("group {group:?}: NUL in the name")))?;
    let mut names = [name.as_ptr()];
    let req = call(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        timeout,
        &format!("group {group}"),
        // SAFETY: `names` holds one pointer to `name`, both alive past this call (librdkafka
        // copies the names before returning).
        |rk, o, q| unsafe { rd::rd_kafka_DescribeConsumerGroups(rk, names.as_mut_ptr(), 1, o, q) },
    )?;
    // SAFETY: as in `list_groups`: the result and everything it points to belong to the
    // event that `req` keeps alive while the values are copied out; partition lists are read
    // within their `cnt` elements.
    unsafe {
        let res = rd::rd_kafka_event_DescribeConsumerGroups_result(req.event);
        if res.is_null() {
            return Err(Error::Other(format!("group {group}: no result")));
        }
        let mut n = 0usize;
        let v = rd::rd_kafka_DescribeConsumerGroups_result_groups(res, &mut n);
        if n == 0 {
            return Ok(None);
        }
        let g = *v;
        let e = rd::rd_kafka_ConsumerGroupDescription_error(g);
        if !e.is_null() {
            let code = rd::rd_kafka_error_code(e);
            if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND {
                return Ok(None);
            }
            return Err(super::errors::from_code(
                code.into(),
                &format!("group {group}"),
            ));
        }
        let mut members = Vec::new();
        for i in 0..rd::rd_kafka_ConsumerGroupDescription_member_count(g) {
            let m = rd::rd_kafka_ConsumerGroupDescription_member(g, i);
            members.push(Member {
                id: text(rd::rd_kafka_MemberDescription_consumer_id(m)),
                host: text(rd::rd_kafka_MemberDescription_host(m)),
                owns: assignment(rd::rd_kafka_MemberDescription_assignment(m)).unwrap_or_default(),
                target: assignment(rd::rd_kafka_MemberDescription_target_assignment(m)),
            });
        }
        Ok(Some(members))
    }
}

/// Commit `offsets` for the group `client` belongs to (or, for a client outside the group,
/// as a simple consumer), waiting at most `timeout` for the coordinator's answer. librdkafka's
/// own synchronous commit waits without a limit, for ever if the coordinator stopped
/// answering without closing its connections.
pub fn commit_within<C: ClientContext>(
    client: &Client<C>,
    offsets: &rdkafka::TopicPartitionList,
    timeout: Duration,
    what: &str,
) -> Result<()> {
    let rk = client.native_ptr();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `rk` is the live client handle borrowed from `client` for this whole call, and
    // `offsets` a live list it copies before returning. The queue is ours (destroyed by
    // `req`; librdkafka holds its own reference for an answer still to come), and the event
    // polled from it is destroyed by `req` after its error and partition list were read.
    unsafe {
        let mut req = Request {
            queue: rd::rd_kafka_queue_new(rk),
            options: std::ptr::null_mut(),
            event: std::ptr::null_mut(),
        };
        if req.queue.is_null() {
            return Err(Error::Other(format!(
                "{what}: librdkafka refused the request"
            )));
        }
        let err =
            rd::rd_kafka_commit_queue(rk, offsets.ptr(), req.queue, None, std::ptr::null_mut());
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(super::errors::from_code(err.into(), what));
        }
        req.event = rd::rd_kafka_queue_poll(req.queue, ms);
        if req.event.is_null() {
            return Err(Error::Temporary(format!(
                "{what}: the group coordinator did not acknowledge within {}",
                humantime::format_duration(timeout)
            )));
        }
        let err = rd::rd_kafka_event_error(req.event);
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(super::errors::from_code(err.into(), what));
        }
        let l = rd::rd_kafka_event_topic_partition_list(req.event);
        if !l.is_null() {
            for j in 0..(*l).cnt.max(0) as usize {
                let tp = &*(*l).elems.add(j);
                if tp.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    return Err(super::errors::from_code(
                        tp.err.into(),
                        &format!("{what} ({}-{})", text(tp.topic), tp.partition),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What DescribeCluster says: the cluster id, the controller's id, and every broker as
/// (id, host:port).
pub struct ClusterView {
    pub cluster_id: String,
    pub controller: Option<i32>,
    pub brokers: Vec<(i32, String)>,
}

pub fn describe_cluster<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<ClusterView> {
    let req = call(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
        timeout,
        "describing the cluster",
        // SAFETY: arguments straight from `call`, valid for this call.
        |rk, o, q| unsafe { rd::rd_kafka_DescribeCluster(rk, o, q) },
    )?;
    // SAFETY: as in `list_groups`: the result, its nodes and their strings belong to the
    // event that `req` keeps alive while they are copied out.
    unsafe {
        let res = rd::rd_kafka_event_DescribeCluster_result(req.event);
        if res.is_null() {
            return Err(Error::Other("describing the cluster: no result".into()));
        }
        let node = |n: *const rd::rd_kafka_Node_t| {
            (
                rd::rd_kafka_Node_id(n),
                format!(
                    "{}:{}",
                    text(rd::rd_kafka_Node_host(n)),
                    rd::rd_kafka_Node_port(n)
                ),
            )
        };
        let c = rd::rd_kafka_DescribeCluster_result_controller(res);
        let mut n = 0usize;
        let nodes = rd::rd_kafka_DescribeCluster_result_nodes(res, &mut n);
        let mut brokers: Vec<(i32, String)> = (0..n).map(|i| node(*nodes.add(i))).collect();
        brokers.sort();
        Ok(ClusterView {
            cluster_id: text(rd::rd_kafka_DescribeCluster_result_cluster_id(res)),
            controller: (!c.is_null()).then(|| rd::rd_kafka_Node_id(c)),
            brokers,
        })
    }
}

/// The high watermark of `topic`-`partition` from the client's last fetch response, without a
/// request (rd_kafka_get_watermark_offsets); None when no fetch has brought one yet.
pub fn cached_high_watermark<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: u32,
) -> Option<u64> {
    let topic = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: `client.native_ptr()` is the live client handle, `topic` a NUL-terminated string
    // that outlives the call, and `low`/`high` valid places for the two i64 it writes; it
    // keeps no pointer to any of them.
    let err = unsafe {
        rd::rd_kafka_get_watermark_offsets(
            client.native_ptr(),
            topic.as_ptr(),
            partition as i32,
            &mut low,
            &mut high,
        )
    };
    (err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .then(|| u64::try_from(high).ok())
        .flatten()
}

/// A producer and its handle on the one topic it writes to. The crate's `send` names the
/// topic on every record, which costs a CString and a lookup of the topic by name inside
/// librdkafka per record; a handle made once skips both.
pub struct TopicProducer<C: ProducerContext> {
    rkt: *mut rd::rd_kafka_topic_t,
    /// The client's `message.max.bytes`: a record near it goes through `send`, which refuses
    /// it on its own (a batch call would refuse it and take the records after it).
    max_message: usize,
    producer: BaseProducer<C>,
}

/// One record for [`TopicProducer::send`].
pub struct Out<'a> {
    pub partition: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Milliseconds since the epoch; None: librdkafka stamps the time it takes the record.
    pub timestamp: Option<i64>,
    pub headers: &'a [Header],
}

impl<C: ProducerContext> TopicProducer<C> {
    pub fn new(producer: BaseProducer<C>, topic: &str) -> Result<TopicProducer<C>> {
        let name = CString::new(topic)
            .map_err(|_| Error::Usage(format!("topic {topic:?}: NUL in the name")))?;
        // SAFETY: the client handle is live (owned by `producer`, which the result keeps), the
        // name is a NUL-terminated string librdkafka copies, and a null configuration means
        // the client's default topic settings, as the crate's `send` gets.
        let rkt = unsafe {
            rd::rd_kafka_topic_new(
                producer.client().native_ptr(),
                name.as_ptr(),
                ptr::null_mut(),
            )
        };
        if rkt.is_null() {
            // SAFETY: reads the calling thread's last librdkafka error; no pointers involved.
            let code = unsafe { rd::rd_kafka_last_error() };
            return Err(super::errors::from_code(
                code.into(),
                &format!("topic {topic}"),
            ));
        }
        let max_message = conf_value(&producer, "message.max.bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        Ok(TopicProducer {
            rkt,
            max_message,
            producer,
        })
    }

    /// Whether a record of these sizes, without headers, is well below `message.max.bytes`:
    /// librdkafka adds at most 36 bytes of record framing before it compares.
    pub fn fits(&self, key: usize, value: usize) -> bool {
        key.saturating_add(value).saturating_add(64) < self.max_message
    }

    pub fn producer(&self) -> &BaseProducer<C> {
        &self.producer
    }

    /// Hand one record to librdkafka (which copies key, value and headers), or say why it
    /// did not take it (QueueFull: try again once the sender thread has made room).
    pub fn send(
        &self,
        r: &Out<'_>,
        opaque: C::DeliveryOpaque,
    ) -> std::result::Result<(), RDKafkaErrorCode> {
        fn mem(b: Option<&[u8]>) -> rd::rd_kafka_vu_s__bindgen_ty_1 {
            let (ptr, size) = b.map_or((ptr::null_mut(), 0), |b| {
                (b.as_ptr() as *mut c_void, b.len())
            });
            rd::rd_kafka_vu_s__bindgen_ty_1 {
                mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 { ptr, size },
            }
        }
        use rd::rd_kafka_vtype_t as V;
        let headers = Headers::of(r.headers);
        let opaque = opaque.into_ptr();
        let vus = [
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_RKT,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 { rkt: self.rkt },
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_PARTITION,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 { i32_: r.partition },
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_MSGFLAGS,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                    i: rd::RD_KAFKA_MSG_F_COPY as c_int,
                },
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_VALUE,
                u: mem(r.value),
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_KEY,
                u: mem(r.key),
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_OPAQUE,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 { ptr: opaque },
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_TIMESTAMP,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                    i64_: r.timestamp.unwrap_or(0),
                },
            },
            rd::rd_kafka_vu_t {
                vtype: V::RD_KAFKA_VTYPE_HEADERS,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                    headers: headers.ptr,
                },
            },
        ];
        // SAFETY: the client and topic handles are live (the topic's is destroyed only in
        // `drop`, before the client's). Every pointer in `vus` points into `r` or `headers`,
        // both alive for this call, with its length beside it; F_COPY makes librdkafka copy
        // key and value before returning. A null headers list means none.
        let err = unsafe {
            rd::rd_kafka_produceva(self.producer.client().native_ptr(), vus.as_ptr(), vus.len())
        };
        if err.is_null() {
            // The record owns the headers now.
            headers.release();
            return Ok(());
        }
        // SAFETY: `err` is the error object produceva returned, ours to read and destroy once.
        let code = unsafe {
            let code = rd::rd_kafka_error_code(err);
            rd::rd_kafka_error_destroy(err);
            code
        };
        // SAFETY: `opaque` came from `into_ptr` above and librdkafka, which refused the
        // record, keeps no copy: turned back exactly once, so a boxed opaque is not leaked.
        drop(unsafe { C::DeliveryOpaque::from_ptr(opaque) });
        Err(code.into())
    }
}

impl<C: ProducerContext<DeliveryOpaque = usize>> TopicProducer<C> {
    /// Hand librdkafka the records of `b` from `from` on in one call, which reads the clocks
    /// and locks the topic once for them all instead of once per record. Err: the first
    /// record it refused and why; those before it were taken (after QueueFull, none after).
    pub fn send_batch(
        &self,
        b: &mut Batch,
        from: usize,
    ) -> std::result::Result<(), (usize, RDKafkaErrorCode)> {
        let base = b.data.as_ptr();
        b.msgs.clear();
        for h in &b.recs[from..] {
            let at = |r: Option<(usize, usize)>| match r {
                // SAFETY (of the `add`): the range was pushed with the bytes it indexes, so
                // it lies within `data`, which is not touched again until the batch is cleared.
                Some((i, n)) => (unsafe { base.add(i) } as *mut c_void, n),
                None => (ptr::null_mut(), 0),
            };
            let (payload, len) = at(h.value);
            let (key, key_len) = at(h.key);
            b.msgs.push(rd::rd_kafka_message_t {
                err: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                rkt: ptr::null_mut(),
                partition: h.partition,
                payload,
                len,
                key,
                key_len,
                offset: 0,
                _private: h.opaque.into_ptr(),
            });
        }
        let n = b.msgs.len().min(i32::MAX as usize);
        // SAFETY: the topic handle is live (see `send`); `msgs` holds `n` initialised messages
        // whose key and value pointers point into `b.data` (null for none) with their
        // lengths, alive and unchanged for the call. F_COPY: librdkafka copies them before it
        // returns; F_PARTITION: each message's own partition is used. It writes only the
        // messages' `err` fields. A usize opaque is a plain number, nothing to free if refused.
        unsafe {
            rd::rd_kafka_produce_batch(
                self.rkt,
                0,
                rd::RD_KAFKA_MSG_F_COPY | rd::RD_KAFKA_MSG_F_PARTITION,
                b.msgs.as_mut_ptr(),
                n as c_int,
            );
        }
        match b.msgs[..n]
            .iter()
            .position(|m| m.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        {
            None => Ok(()),
            Some(i) => Err((from + i, b.msgs[i].err.into())),
        }
    }
}

/// Records held for one [`TopicProducer::send_batch`]: keys and values back to back in one
/// buffer, each record's ranges of it beside.
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    recs: Vec<Held>,
    /// Scratch for the call, kept for its allocation.
    msgs: Vec<rd::rd_kafka_message_t>,
}

struct Held {
    partition: i32,
    key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
    opaque: usize,
}

impl Batch {
    pub fn push(
        &mut self,
        partition: i32,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        opaque: usize,
    ) {
        let mut put = |b: Option<&[u8]>| {
            b.map(|b| {
                self.data.extend_from_slice(b);
                (self.data.len() - b.len(), b.len())
            })
        };
        let key = put(key);
        let value = put(value);
        self.recs.push(Held {
            partition,
            key,
            value,
            opaque,
        });
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Record `i`'s partition and opaque.
    pub fn record(&self, i: usize) -> (i32, usize) {
        (self.recs[i].partition, self.recs[i].opaque)
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.recs.clear();
        self.msgs.clear();
    }
}

/// A property of the client's configuration as librdkafka holds it.
fn conf_value<C: ProducerContext>(p: &BaseProducer<C>, name: &str) -> Option<String> {
    let name = CString::new(name).ok()?;
    let mut buf = [0 as c_char; 64];
    let mut size = buf.len();
    // SAFETY: the client is live; rd_kafka_conf returns its configuration (owned by the
    // client, only read here); rd_kafka_conf_get writes at most `size` bytes, NUL included,
    // into `buf`, and says OK only when the value fitted.
    unsafe {
        let conf = rd::rd_kafka_conf(p.client().native_ptr());
        let r = rd::rd_kafka_conf_get(conf, name.as_ptr(), buf.as_mut_ptr(), &mut size);
        (r == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK).then(|| text(buf.as_ptr()))
    }
}

impl<C: ProducerContext> Drop for TopicProducer<C> {
    fn drop(&mut self) {
        // SAFETY: `rkt` came from rd_kafka_topic_new and is released once, here, while the
        // client is still alive: the `producer` field (and the client in it) is dropped only
        // after this returns. Records still queued hold references of their own.
        unsafe { rd::rd_kafka_topic_destroy(self.rkt) };
    }
}

/// A record's headers as librdkafka's list (null for none), destroyed on drop unless a
/// produced record took it.
struct Headers {
    ptr: *mut rd::rd_kafka_headers_t,
}

impl Headers {
    fn of(hs: &[Header]) -> Headers {
        if hs.is_empty() {
            return Headers {
                ptr: ptr::null_mut(),
            };
        }
        // SAFETY: a new list, ours; rd_kafka_header_add copies name and value (each passed
        // with its length, so neither needs a NUL), a null value with size 0 being a null
        // header value, as the crate's OwnedHeaders adds them.
        unsafe {
            let ptr = rd::rd_kafka_headers_new(hs.len());
            for h in hs {
                let (vp, vn) = h
                    .value
                    .as_deref()
                    .map_or((ptr::null(), 0), |v| (v.as_ptr().cast(), v.len() as isize));
                rd::rd_kafka_header_add(ptr, h.key.as_ptr().cast(), h.key.len() as isize, vp, vn);
            }
            Headers { ptr }
        }
    }

    fn release(mut self) {
        self.ptr = ptr::null_mut();
    }
}

impl Drop for Headers {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: a list made in `of` that no record took: still ours, destroyed once.
            unsafe { rd::rd_kafka_headers_destroy(self.ptr) };
        }
    }
}
