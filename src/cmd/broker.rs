//! `chute broker list|down|up`.

use super::{print, print_json, table};
use crate::cli::BrokerCmd;
use chute::cluster::Cluster;
use chute::error::Result;

pub fn run(cluster: &Cluster, cmd: BrokerCmd) -> Result<i32> {
    match cmd {
        BrokerCmd::List { json } => {
            let md = cluster.metadata()?;
            let list: Vec<_> = md
                .brokers
                .iter()
                .map(|b| cluster.broker_status(&md, b.id, false))
                .collect();
            if json {
                print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|b| {
                        let state = match b.state {
                            chute::cluster::brokers::State::Up => "up".to_string(),
                            chute::cluster::brokers::State::Down => format!("down: {}", b.reason),
                        };
                        vec![b.id.to_string(), state, b.path.display().to_string()]
                    })
                    .collect();
                print(&table::render(&["BROKER", "STATE", "PATH"], rows))?;
            }
            Ok(0)
        }
        BrokerCmd::Add { dir } => {
            let id = cluster.add_broker(dir)?;
            let md = cluster.metadata()?;
            super::note(format_args!(
                "added broker {id} at {}; move replicas onto it with `chute topic reassign`",
                cluster.broker_dir(&md, id).display()
            ));
            print(&format!("{id}\n"))?;
            Ok(0)
        }
        BrokerCmd::Down { id } => {
            cluster.mark_broker(id, true)?;
            super::note(format_args!("broker {id} marked down"));
            Ok(0)
        }
        BrokerCmd::Up { id } => {
            cluster.mark_broker(id, false)?;
            super::note(format_args!("broker {id} marked up"));
            Ok(0)
        }
    }
}
