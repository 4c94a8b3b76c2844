// FollowUp web pixel: Shopify checkout events as Segment-spec events for /collect/v1/events.
import {register} from "@shopify/web-pixels-extension";
import {subscribeAll} from "./events.js";

register((api) => subscribeAll(api));
