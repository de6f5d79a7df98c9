//! The For You of a node with several regions: each viewer's page comes
//! from the model of their home region.

use super::RecError;
use super::RecForYou;
use crate::for_you::{Algorithm, ForYou, ForYouRequest, ModelState, Pick};
use flick_domain::{DataClass, RegionCode, UserId, VideoId};
use flick_store::{Regions, StoreError};
use std::sync::Arc;

/// The For You of a node: one [`RecForYou`] per held region, each viewer
/// served by the model of their home region. Visitors, who have no region,
/// get the node's first region's model, which holds no visitor state.
pub struct RegionalForYou {
    regions: Arc<Regions>,
    models: Vec<(RegionCode, Arc<RecForYou>)>,
}

impl RegionalForYou {
    pub fn new(regions: Arc<Regions>, models: Vec<(RegionCode, Arc<RecForYou>)>) -> Self {
        assert!(!models.is_empty(), "one model per held region");
        Self { regions, models }
    }

    pub fn models(&self) -> &[(RegionCode, Arc<RecForYou>)] {
        &self.models
    }

    fn model_of(&self, viewer: Option<UserId>) -> Result<&RecForYou, StoreError> {
        let Some(user) = viewer else {
            return Ok(&self.models[0].1);
        };
        let home = self.regions.home(user, DataClass::RecommendationState)?;
        Ok(self
            .models
            .iter()
            .find(|(r, _)| r == home.region())
            .map(|(_, m)| &**m)
            .expect("a model for every held region"))
    }

    /// Runs each region's batch refresh that is due (see
    /// [`RecForYou::refresh_if_due`]).
    pub fn refresh_if_due(&self, stop: &dyn Fn() -> bool) -> Result<(), StoreError> {
        for (_, m) in &self.models {
            m.refresh_if_due(stop)?;
        }
        Ok(())
    }

    /// Applies new events to every region's model (the background tailer).
    pub fn catch_up_now(&self) -> Result<(), StoreError> {
        for (_, m) in &self.models {
            m.catch_up_now()?;
        }
        Ok(())
    }

    /// Snapshots every region's model.
    pub fn snapshot(&self) -> Result<(), RecError> {
        for (_, m) in &self.models {
            m.snapshot()?;
        }
        Ok(())
    }
}

impl ForYou for RegionalForYou {
    fn recommend(&self, req: &ForYouRequest) -> Result<Vec<Pick>, StoreError> {
        let known = req
            .region
            .as_ref()
            .and_then(|r| self.models.iter().find(|(m, _)| m == r));
        match known {
            Some((_, model)) => model.recommend(req),
            None => self.model_of(req.viewer)?.recommend(req),
        }
    }

    fn why(
        &self,
        viewer: Option<UserId>,
        video: VideoId,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.model_of(viewer)?.why(viewer, video, now)
    }

    fn algorithm(&self) -> &Algorithm {
        // Every region runs the same configuration.
        self.models[0].1.algorithm()
    }

    fn models(&self) -> Vec<ModelState> {
        self.models.iter().flat_map(|(_, m)| m.models()).collect()
    }

    fn reset_user(&self, user: UserId) -> Result<(), StoreError> {
        self.model_of(Some(user))?.reset_user(user)
    }

    /// The user's state is in their home model, but as a creator they are
    /// in every region's catalogue: every model forgets them.
    fn forget_user(&self, user: UserId, videos: &[VideoId]) -> Result<(), StoreError> {
        for (_, m) in &self.models {
            m.forget_user(user, videos)?;
        }
        Ok(())
    }

    fn interests(&self, user: UserId) -> serde_json::Value {
        match self.model_of(Some(user)) {
            Ok(m) => m.interests(user),
            Err(_) => serde_json::Value::Null,
        }
    }
}
