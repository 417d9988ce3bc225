//! The Jupyter wire protocol (messaging specification 5.3). A message travels as one multipart
//! ZeroMQ message: the routing identities, the delimiter `<IDS|MSG>`, the HMAC-SHA256
//! signature (hex) of the next four parts, then the header, the parent header, the metadata
//! and the content as JSON, then any binary buffers.

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use std::path::Path;

/// The version of the messaging protocol the kernel speaks.
pub const PROTOCOL_VERSION: &str = "5.3";

const DELIMITER: &[u8] = b"<IDS|MSG>";

/// What the connection file says: where to listen, and the key that signs messages.
#[derive(Clone, Debug)]
pub struct Connection {
    pub transport: String,
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    pub key: String,
}

impl Connection {
    /// Reads the connection file Jupyter writes for the kernel.
    pub fn read(path: &Path) -> Result<Connection, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the connection file {shown}: {e}"))?;
        let j: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{shown}: the connection file is not JSON: {e}"))?;
        let text_field = |name: &str| -> Result<String, String> {
            j.get(name)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{shown}: the connection file has no text `{name}`"))
        };
        let port = |name: &str| -> Result<u16, String> {
            j.get(name)
                .and_then(Json::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| format!("{shown}: the connection file has no port `{name}`"))
        };
        let scheme = j
            .get("signature_scheme")
            .and_then(Json::as_str)
            .unwrap_or("hmac-sha256");
        if scheme != "hmac-sha256" {
            return Err(format!(
                "{shown}: the signature scheme `{scheme}` is not supported; gmm signs with hmac-sha256"
            ));
        }
        let transport = text_field("transport")?;
        if transport != "tcp" {
            return Err(format!(
                "{shown}: the transport `{transport}` is not supported; gmm listens on tcp"
            ));
        }
        Ok(Connection {
            transport,
            ip: text_field("ip")?,
            shell_port: port("shell_port")?,
            iopub_port: port("iopub_port")?,
            stdin_port: port("stdin_port")?,
            control_port: port("control_port")?,
            hb_port: port("hb_port")?,
            key: j
                .get("key")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }

    /// The ZeroMQ endpoint of `port`.
    pub fn endpoint(&self, port: u16) -> String {
        format!("{}://{}:{port}", self.transport, self.ip)
    }
}

/// Signs and checks messages with the connection's key; an empty key turns signing off, as
/// the protocol says.
#[derive(Clone, Debug)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: &str) -> Signer {
        Signer {
            key: key.as_bytes().to_vec(),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<Hmac<Sha256>> {
        if self.key.is_empty() {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for p in parts {
            mac.update(p);
        }
        Some(mac)
    }

    /// The signature of the header, parent header, metadata and content, in hex.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        self.mac(parts)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Whether `signature` (hex) signs `parts`, compared in constant time.
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> bool {
        match self.mac(parts) {
            None => true,
            Some(m) => hex::decode(signature).is_ok_and(|s| m.verify_slice(&s).is_ok()),
        }
    }
}

/// One message.
#[derive(Clone, Debug)]
pub struct Message {
    /// The routing identities (on iopub, the topic).
    pub identities: Vec<Bytes>,
    pub header: Json,
    pub parent_header: Json,
    pub metadata: Json,
    pub content: Json,
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// A new message of type `msg_type` in `session`, answering `parent` (if any).
    pub fn new(session: &str, msg_type: &str, parent: Option<&Message>, content: Json) -> Message {
        Message {
            identities: parent.map(|p| p.identities.clone()).unwrap_or_default(),
            header: header(session, msg_type),
            parent_header: parent.map_or_else(|| json!({}), |p| p.header.clone()),
            metadata: json!({}),
            content,
            buffers: Vec::new(),
        }
    }

    /// The message's type, from its header.
    pub fn msg_type(&self) -> &str {
        self.header
            .get("msg_type")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// Reads a message from its frames, checking its signature.
    pub fn parse(frames: Vec<Bytes>, signer: &Signer) -> Result<Message, String> {
        let at = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or("a message without the <IDS|MSG> delimiter")?;
        if frames.len() < at + 6 {
            return Err("a message with fewer than its four JSON parts".into());
        }
        let part = |i: usize| frames[at + 2 + i].as_ref();
        let parts = [part(0), part(1), part(2), part(3)];
        if !signer.verify(&frames[at + 1], &parts) {
            return Err("a message with a bad signature".into());
        }
        let json = |i: usize| -> Result<Json, String> {
            serde_json::from_slice(parts[i]).map_err(|e| format!("a message part is not JSON: {e}"))
        };
        Ok(Message {
            identities: frames[..at].to_vec(),
            header: json(0)?,
            parent_header: json(1)?,
            metadata: json(2)?,
            content: json(3)?,
            buffers: frames[at + 6..].to_vec(),
        })
    }

    /// The message's frames, signed.
    pub fn frames(&self, signer: &Signer) -> Vec<Bytes> {
        let parts: Vec<Vec<u8>> = [
            &self.header,
            &self.parent_header,
            &self.metadata,
            &self.content,
        ]
        .iter()
        .map(|j| serde_json::to_vec(j).expect("JSON values serialise"))
        .collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let signature = signer.sign(&refs);
        let mut out = self.identities.clone();
        out.push(Bytes::from_static(DELIMITER));
        out.push(Bytes::from(signature));
        out.extend(parts.into_iter().map(Bytes::from));
        out.extend(self.buffers.iter().cloned());
        out
    }
}

/// A message header.
pub fn header(session: &str, msg_type: &str) -> Json {
    json!({
        "msg_id": uuid::Uuid::new_v4().to_string(),
        "session": session,
        "username": "gmm",
        "date": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
        "msg_type": msg_type,
        "version": PROTOCOL_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of RFC 4231's second test case, whose key and data are text.
    #[test]
    fn signs_as_rfc_4231_says() {
        let s = Signer::new("Jefe");
        assert_eq!(
            s.sign(&[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(s.verify(
            b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            &[b"what do ya want for nothing?"]
        ));
        assert!(!s.verify(b"00", &[b"what do ya want for nothing?"]));
    }

    #[test]
    fn frames_parse_back_and_a_changed_part_is_refused() {
        let s = Signer::new("secret");
        let mut m = Message::new("sess", "execute_request", None, json!({"code": "1 + 1"}));
        m.identities = vec![Bytes::from_static(b"peer")];
        let frames = m.frames(&s);
        let back = Message::parse(frames.clone(), &s).unwrap();
        assert_eq!(back.content, m.content);
        assert_eq!(back.identities, m.identities);
        assert_eq!(back.msg_type(), "execute_request");
        let mut bad = frames;
        bad[5] = Bytes::from_static(b"{\"code\": \"2\"}");
        assert!(Message::parse(bad, &s).is_err());
    }
}
