//! How a scheduler sends the plans it splits into tasks to its executors: Ballista's codec, and
//! loopql's per-client stage (`per_client.rs`) as its call, clients and snapshot in JSON.

use crate::per_client::{Call, PerClientExec, Snapshot};
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use std::sync::Arc;

/// What an encoded per-client stage starts with (Ballista's own encodings are protobuf
/// messages, which never do).
const MAGIC: &[u8] = b"loopql-per-client\0";

#[derive(Debug, Default)]
pub struct PhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

/// A per-client stage as it travels (its input, the clients, travels as Ballista sends an
/// in-memory table).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stage {
    call: Call,
    warehouse: String,
    snapshot: u64,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(json) = buf.strip_prefix(MAGIC) else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        let stage: Stage = serde_json::from_slice(json)
            .map_err(|e| DataFusionError::Internal(format!("loopql per-client stage: {e}")))?;
        // The call's schema, from the same call made here.
        let session = SessionStateBuilder::new().build();
        let schema = loopql_core::functions::recorded::call(
            &stage.call.function,
            &stage.call.args,
            &session,
        )?
        .schema();
        let [input] = inputs else {
            return Err(DataFusionError::Internal(format!(
                "loopql per-client stage: {} inputs, expected the clients",
                inputs.len()
            )));
        };
        Ok(Arc::new(PerClientExec::new(
            stage.call,
            Snapshot {
                warehouse: stage.warehouse,
                id: stage.snapshot,
            },
            schema,
            input.clone(),
        )))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some(exec) = node.downcast_ref::<PerClientExec>() else {
            return self.inner.try_encode(node, buf, proto_converter);
        };
        let stage = Stage {
            call: exec.call.clone(),
            warehouse: exec.snapshot.warehouse.clone(),
            snapshot: exec.snapshot.id,
        };
        buf.extend_from_slice(MAGIC);
        serde_json::to_writer(&mut *buf, &stage)
            .map_err(|e| DataFusionError::Internal(format!("loopql per-client stage: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::projection::ProjectionExec;
    use datafusion_proto::bytes::{
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    #[test]
    fn a_per_client_stage_travels_whole_under_a_projection() {
        let session = SessionStateBuilder::new().build();
        let args = vec![serde_json::json!("channel"), serde_json::json!("linear")];
        let schema = loopql_core::functions::recorded::call(
            "attribution",
            &[serde_json::json!("channel")],
            &session,
        )
        .unwrap()
        .schema();
        let call = Call {
            function: "attribution".into(),
            args,
            filters: vec!["model = 'linear'".into()],
            settings: vec![("loopql.attribution.lookback_days".into(), "14".into())],
        };
        let stage = Arc::new(PerClientExec::new(
            call.clone(),
            Snapshot {
                warehouse: "s3://bucket/warehouse".into(),
                id: 7,
            },
            schema.clone(),
            crate::per_client::clients_table(&["acme".into(), "o'neil".into()]).unwrap(),
        ));
        // Above it, something of Ballista's own (a projection), encoded as usual.
        let column: Arc<dyn datafusion::physical_expr::PhysicalExpr> = Arc::new(
            datafusion::physical_expr::expressions::Column::new("channel", 4),
        );
        let plan = Arc::new(
            ProjectionExec::try_new(vec![(column, "channel".to_string())], stage).unwrap(),
        );
        let codec = PhysicalCodec::default();
        let bytes = physical_plan_to_bytes_with_extension_codec(plan, &codec).unwrap();
        let back =
            physical_plan_from_bytes_with_extension_codec(&bytes, &TaskContext::default(), &codec)
                .unwrap();
        assert_eq!(back.name(), "ProjectionExec");
        let inner = back.children()[0].clone();
        let Some(exec) = inner.downcast_ref::<PerClientExec>() else {
            panic!("{} came back", inner.name());
        };
        assert_eq!(exec.call, call);
        assert_eq!(exec.snapshot.warehouse, "s3://bucket/warehouse");
        assert_eq!(exec.snapshot.id, 7);
        assert_eq!(exec.schema_ref(), schema);
        assert_eq!(
            exec.properties().partitioning.partition_count(),
            2,
            "one partition per client"
        );
    }
}
