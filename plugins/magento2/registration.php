<?php
/**
 * Registers the FollowUp_Recovery module with Magento.
 */

declare(strict_types=1);

use Magento\Framework\Component\ComponentRegistrar;

ComponentRegistrar::register(ComponentRegistrar::MODULE, 'FollowUp_Recovery', __DIR__);
